// Verified approvals (issue 16 part B, CONTRACT section 4, DOMAIN invariant 13), over HTTP against the
// bot as a process: APPROVAL_STEP_UP=required with the authentication context c1. Approve (approval and
// batch cards) and Applied in UMP are answered 401 `loginRequest` until the presser's Teams client sends
// their own Entra token, which the bot checks against the Entra stand-in's published keys (HTTPS on
// loopback, trusted through NODE_EXTRA_CA_CERTS). Every refusal names its reason and writes nothing; the
// fallback sign-in goes through the token service emulator and the stand-in's "approve with MFA" page.
// On stop, everything the bot said, logged and stored is scanned for every token and secret issued.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SignInProfile, type UserTokens, userTokensOf } from "../emulators/entra/userTokens";
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
    const request = await stack.withRepo(
      async (repo) => (await repo.listRequests()).find((r) => r.customer === "contoso")!,
    );
    expect(request.approver?.proof).toMatchObject({ acrs: ["c1"], tokenId: expect.any(String) });
    expect(Date.parse(request.approver!.proof!.issuedAt)).toBeGreaterThan(Date.now() - 5 * 60_000);
    const audit = await stack.withRepo((repo) => repo.listAudit("contoso", { limit: 50 }));
    const approval = audit.events.find((e) => e.action === "approval.approved")!;
    expect(approval.detail).toContain(`token ${request.approver!.proof!.tokenId}`);
    expect(approval.detail).toMatch(/acrs c1, issued \d{4}-/);
  }, 90_000);
});

const APPROVER = USERS.approver.aadObjectId;

/** Nothing changed: the request still waits for approval, for everyone, and Graph saw no write. */
async function expectNothingWritten(activityId: string, customer: string, writes: number) {
  expect(graphWrites()).toBe(writes);
  const request = await stack.withRepo(
    async (repo) => (await repo.listRequests()).find((r) => r.customer === customer)!,
  );
  expect(request.state).toBe("planned");
  expect(request.approver).toBeUndefined();
  expect(cardText(stack.cardOf(activityId))).toMatch(/Waiting for approval/);
}

describe("every refusal names its reason and writes nothing", () => {
  let activityId: string;
  let writes: number;
  beforeAll(async () => {
    activityId = await planned("fabrikam");
    writes = graphWrites();
  }, 60_000);
  afterEach(() => {
    tokens.setProfile(APPROVER, {});
    signIn.setMfa(USERS.approver, true);
  });

  it.each<[string, SignInProfile, RegExp]>([
    [
      "a token minted for the requester, replayed by the approver",
      { asUser: USERS.requester.aadObjectId },
      /another user/,
    ],
    ["another user's token", { asUser: USERS.bystander.aadObjectId }, /another user/],
    ["a token from another tenant", { tenantId: OTHER_TENANT }, /another tenant/],
    ["a token for another audience", { audience: "api://someone-else.example.net/app" }, /another application/],
    [
      "a token signed by another key under the published kid",
      { forgery: "foreign-key" },
      /Bad signature: .*not signed by your tenant's key/,
    ],
    ["alg none", { forgery: "alg-none" }, /Bad signature: .*"none", only RS256/],
    ["HS256 signed with the public key", { forgery: "hs256-public-key" }, /Bad signature: .*"HS256", only RS256/],
  ])("%s", async (_name, profile, reason) => {
    tokens.setProfile(APPROVER, profile);
    const answer = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(answer.signIns).toHaveLength(1); // SSO was asked for and sent; no second sign-in is offered
    expect(cardText(answer.card)).toMatch(/Megan Bowen pressed Approve: refused/);
    expect(cardText(answer.card)).toMatch(reason);
    await expectNothingWritten(activityId, "fabrikam", writes);
  });

  it.each<[string, SignInProfile, RegExp]>([
    ["an expired token", { expired: true }, /expired/],
    ["a sign-in older than APPROVAL_TOKEN_MAX_AGE_MINUTES", { ageMinutes: 30 }, /too old: .*last 10 minutes/],
    ["a sign-in without MFA (no c1 in acrs)", { noMfa: true }, /authentication context "c1"/],
    ["a token without acrs", { noAcrs: true }, /authentication context "c1"/],
  ])(
    "%s: the fallback sign-in is offered with the claims challenge; skipping MFA there still writes nothing",
    async (_name, profile, reason) => {
      tokens.setProfile(APPROVER, profile);
      signIn.setMfa(USERS.approver, false);
      const answer = await stack.press(activityId, "Approve", { user: USERS.approver });
      expect(answer.signIns).toHaveLength(2);
      const fallback = answer.signIns[1];
      expect(fallback.statusCode).toBe(401);
      expect(fallback.value.text).toMatch(reason);
      // No SSO information the second time: the client goes through the OAuth connection's sign-in.
      expect(fallback.value.tokenExchangeResource).toBeUndefined();
      expect(fallback.value.connectionName).toBe(CONNECTION);
      const link = new URL(fallback.value.buttons[0].value);
      expect(JSON.parse(link.searchParams.get("claims")!)).toEqual({
        access_token: { acrs: { essential: true, value: "c1" } },
      });
      expect(link.searchParams.get("prompt")).toBe("login");
      // The sign-in without MFA gave a token without c1: asked again, naming the missing context.
      expect(answer.status).toBe(401);
      expect(answer.body.value.text).toMatch(/authentication context "c1"/);
      await expectNothingWritten(activityId, "fabrikam", writes);
    },
  );

  it("a sign-in code the token service does not know is answered invalidAuthCode", async () => {
    stack.signIn = async () => ({ state: "123456" });
    try {
      const answer = await stack.press(activityId, "Approve", { user: USERS.approver });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ statusCode: 401, type: "application/vnd.microsoft.error.invalidAuthCode" });
    } finally {
      stack.signIn = signIn.handler;
    }
    await expectNothingWritten(activityId, "fabrikam", writes);
  });

  it("JWKS unreachable is a refusal that says so; after a key rollover the new key's tokens are accepted", async () => {
    const entra = stack.graph.entra;
    let down = true;
    entra.addRoute((req) =>
      down && /\/discovery\/v2\.0\/keys$/.test(req.path)
        ? { status: 503, body: { error: "temporarily_unavailable" } }
        : null,
    );
    // The bot holds the old keys; tokens signed by the new key make it refetch, which fails.
    entra.keys.rotate();
    const refused = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(cardText(refused.card)).toMatch(/signing keys could not be fetched \(the key set answered HTTP 503\)/);
    await expectNothingWritten(activityId, "fabrikam", writes);

    down = false;
    const approved = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(approved.status).toBe(200);
    const done = await stack.waitForCard(activityId, runFinished, 60_000);
    expect(done.body[0].text).toBe("Provision for fabrikam: succeeded");
  }, 90_000);
});

describe("the fallback sign-in, a batch, and Applied in UMP", () => {
  it("a too-old sign-in is cured by the fallback sign-in with MFA on the stand-in's page", async () => {
    const activityId = await planned("northwind");
    tokens.setProfile(APPROVER, { ageMinutes: 30 });
    try {
      const answer = await stack.press(activityId, "Approve", { user: USERS.approver });
      expect(answer.signIns.map((r) => (r.value.tokenExchangeResource ? "sso" : "sign-in"))).toEqual([
        "sso",
        "sign-in",
      ]);
      expect(answer.status).toBe(200);
      expect(signIn.pages.at(-1)).toMatch(
        /requires multifactor authentication for this approval \(authentication context c1\)/,
      );
      expect(signIn.pages.at(-1)).toMatch(/Approve with MFA/);
    } finally {
      tokens.setProfile(APPROVER, {});
    }
    const done = await stack.waitForCard(activityId, runFinished, 60_000);
    expect(done.body[0].text).toBe("Provision for northwind: succeeded");
    const request = await stack.withRepo(
      async (repo) => (await repo.listRequests()).find((r) => r.customer === "northwind")!,
    );
    expect(request.approver?.proof?.acrs).toEqual(["c1"]);
  }, 90_000);

  it("a batch's one Approve needs the approver's own token too", async () => {
    await stack.say("provision adatum tailspin");
    const { activityId } = stack.lastCardMessage();
    await stack.press(activityId, "Review plan");
    await stack.waitForView(USERS.approver, activityId, (c) => findAction(c, "Approve") !== undefined, 30_000);
    stack.signIn = undefined;
    const bare = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(bare.status).toBe(401);
    expect(bare.body.type).toBe(LOGIN_REQUEST);
    stack.signIn = signIn.handler;
    const before = graphWrites();
    tokens.setProfile(APPROVER, { forgery: "alg-none" });
    const forged = await stack.press(activityId, "Approve", { user: USERS.approver });
    tokens.setProfile(APPROVER, {});
    expect(cardText(forged.card)).toMatch(/pressed Approve: refused. Bad signature/);
    expect(graphWrites()).toBe(before);
    const stillPlanned = await stack.withRepo(async (repo) =>
      (await repo.listRequests()).filter((r) => r.batchId && r.state === "planned"),
    );
    expect(stillPlanned.map((r) => r.customer).sort()).toEqual(["adatum", "tailspin"]);
    const approved = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(approved.status).toBe(200);
    const done = await stack.waitForCard(
      activityId,
      (c) => /2 done · 0 running · 0 failed · 0 waiting/.test(cardText(c)),
      90_000,
    );
    expect(cardText(done)).toMatch(/2 done/);
  }, 120_000);

  it("Applied in UMP needs the operator's own token", async () => {
    await stack.say("rotate contoso teams-sync");
    const rotation = await stack.connector.waitFor(() => {
      const m = stack.lastCardMessage();
      return findAction(stack.cardOf(m.activityId), "Approve") ? m : undefined;
    }, 20_000);
    await stack.press(rotation.activityId, "Approve", { user: USERS.approver });
    const created = await stack.connector.waitFor(() => stack.connector.conversationsCreated[0], 30_000);
    const dm = await stack.connector.waitFor((cur) =>
      cur.find((a) => a.conversationId === created.id && a.activity?.attachments?.length),
    );
    const card = dm.activity.attachments[0].content;
    const link = JSON.stringify(card).match(/\/handoff\/([A-Za-z0-9_-]{43})/)![1]!;
    expect((await fetch(`${stack.bot.url}/handoff/${link}`, { method: "POST" })).status).toBe(200);

    stack.signIn = undefined;
    const bare = await stack.press(dm.activityId, "Applied in UMP", { user: USERS.approver, card });
    expect(bare.status).toBe(401);
    expect(bare.body.type).toBe(LOGIN_REQUEST);
    const waiting = await stack.withRepo(async (repo) => (await repo.listRequests()).find((r) => r.kind === "rotate")!);
    expect(waiting.run?.handoff?.appliedAt).toBeUndefined();

    stack.signIn = signIn.handler;
    const applied = await stack.press(dm.activityId, "Applied in UMP", { user: USERS.approver, card });
    expect(cardText(applied.card)).toMatch(/applied in UMP by Megan Bowen/);
    const done = await stack.waitForCard(rotation.activityId, runFinished, 60_000);
    expect(done.body[0].text).toBe("Rotate the secret for contoso: succeeded");
    const request = await stack.withRepo(async (repo) => (await repo.listRequests()).find((r) => r.kind === "rotate")!);
    expect(request.run?.handoff?.appliedBy?.proof?.acrs).toEqual(["c1"]);
  }, 120_000);
});
