// Verified approvals (issue 16 part B, CONTRACT section 4, DOMAIN invariant 13), over HTTP against the
// bot as a process: APPROVAL_STEP_UP=required with the authentication context c1. Approve (approval and
// batch cards) and Applied in UMP are answered 401 `loginRequest` until the presser's Teams client sends
// their own Entra token, which the bot checks against the Entra stand-in's published keys (HTTPS on
// loopback, trusted through NODE_EXTRA_CA_CERTS). Every refusal names its reason and writes nothing; the
// fallback sign-in goes through the token service emulator and the stand-in's "approve with MFA" page.
// On stop, everything the bot said, logged and stored is scanned for every token and secret issued.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type UserTokens, userTokensOf } from "../emulators/entra/userTokens";
import { startTokenService, type TokenServiceEmulator } from "../emulators/tokenServiceEmulator";
import { type ProcessStack, startProcessStack } from "../support/botProcess";
import { cardText, expectNoSecretIn, findAction, OTHER_TENANT, runFinished, USERS } from "../support/stack";
import { createTeamsSignIn, type TeamsSignIn } from "../support/teamsSignIn";

const SSO_RESOURCE = "api://syncbot.example.net/botid-7d2f3c41-9a0b-4c5d-8e6f-1a2b3c4d5e6f";
const CONNECTION = "syncbot-sso";
const LOGIN_REQUEST = "application/vnd.microsoft.activity.loginRequest";
const KEY = Buffer.from("6b1f0a3c9d8e7f25416b3a2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e", "hex").toString("base64");

let stack: ProcessStack;
let tokens: UserTokens;
let tokenService: TokenServiceEmulator;
let signIn: TeamsSignIn;

beforeAll(async () => {
  stack = await startProcessStack({}, ["contoso", "fabrikam", "northwind", "adatum", "tailspin"]);
  const entra = stack.graph.entra;
  tokens = userTokensOf(entra);
  tokenService = await startTokenService({
    entra,
    connections: { [CONNECTION]: { clientId: "7d2f3c41-9a0b-4c5d-8e6f-1a2b3c4d5e6f", resource: SSO_RESOURCE } },
  });
  signIn = createTeamsSignIn(entra);
  stack.signIn = signIn.handler;
  Object.assign(stack.env, {
    APPROVAL_STEP_UP: "required",
    APPROVAL_AUTH_CONTEXT: "c1",
    APPROVAL_TOKEN_MAX_AGE_MINUTES: "10",
    SSO_RESOURCE,
    SSO_CONNECTION_NAME: CONNECTION,
    AUTHORITY_HOST: entra.authorityHost,
    NODE_EXTRA_CA_CERTS: entra.caCertPath,
    OAuthUrl: tokenService.url,
    HANDOFF_KEY: KEY,
    PUBLIC_BASE_URL: "http://127.0.0.1:1",
    LOG_LEVEL: "debug",
  });
  await stack.start();
}, 60_000);

afterAll(async () => {
  const everything = stack.everything();
  await stack.stop();
  await tokenService.close();
  // The leak scan: no token any client obtained, and no secret Entra issued, appears anywhere.
  expect(tokens.issued().length).toBeGreaterThan(5);
  expectNoSecretIn(everything, [...tokens.issued(), ...stack.graph.issuedSecrets()]);
});

/** Review plan for `customer` by the requester; the message id once the approver sees Approve. */
async function planned(customer: string): Promise<string> {
  await stack.say(`provision ${customer}`);
  const { activityId } = stack.lastCardMessage();
  await stack.press(activityId, "Review plan");
  await stack.waitForView(USERS.approver, activityId, (c) => findAction(c, "Approve") !== undefined, 20_000);
  return activityId;
}

/** Graph writes so far (the emulator's request log): a refusal must add none. */
function graphWrites(): number {
  return stack.graph.writes().length;
}

describe("verified approvals (APPROVAL_STEP_UP=required)", () => {
  it("answers Approve without a token with a 401 loginRequest, and approves with the approver's own fresh token", async () => {
    const activityId = await planned("contoso");
    // A client that does not sign in: the invoke's answer is the sign-in request, nothing is written.
    stack.signIn = undefined;
    const writes = graphWrites();
    const bare = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(bare.status).toBe(401);
    expect(bare.body.statusCode).toBe(401);
    expect(bare.body.type).toBe(LOGIN_REQUEST);
    expect(bare.body.value.connectionName).toBe(CONNECTION);
    expect(bare.body.value.tokenExchangeResource).toMatchObject({ uri: SSO_RESOURCE });
    expect(bare.body.value.tokenExchangeResource.id).toEqual(expect.any(String));
    expect(bare.body.value.buttons[0]).toMatchObject({ type: "signin" });
    expect(bare.body.value.buttons[0].value).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/oauth\/signin\?signin=/);
    expect(cardText(stack.cardOf(activityId))).toMatch(/Waiting for approval/);
    expect(graphWrites()).toBe(writes);

    // Teams' client: silent SSO, then the same action again with value.authentication.
    stack.signIn = signIn.handler;
    const approved = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(approved.signIns).toHaveLength(1);
    expect(approved.status).toBe(200);
    const done = await stack.waitForCard(activityId, runFinished, 60_000);
    expect(done.body[0].text).toBe("Provision for contoso: succeeded");

    // The audit names the sign-in it rested on (token id, acrs, iat), never the token.
    const request = await stack.withRepo(async (repo) => (await repo.listRequests()).find((r) => r.customer === "contoso")!);
    expect(request.approver?.proof).toMatchObject({ acrs: ["c1"], tokenId: expect.any(String) });
    expect(Date.parse(request.approver!.proof!.issuedAt)).toBeGreaterThan(Date.now() - 5 * 60_000);
    const audit = await stack.withRepo((repo) => repo.listAudit("contoso", { limit: 50 }));
    const approval = audit.events.find((e) => e.action === "approval.approved")!;
    expect(approval.detail).toContain(`token ${request.approver!.proof!.tokenId}`);
    expect(approval.detail).toMatch(/acrs c1, issued \d{4}-/);
  }, 90_000);
});
