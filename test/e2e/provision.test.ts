// End to end: a channel conversation provisions a customer through the real HTTP surface, with Graph,
// UMP and the Bot Connector emulated over HTTP. Buttons are pressed by title, as a person would.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REQUIRED_SCOPES } from "../../src/domain/spec";
import { LEAST_PRIVILEGE } from "../emulators/graphEmulator";
import { secretFingerprint } from "../emulators/umpEmulator";
import { cardText, expectNoSecretIn, fact, OTHER_TENANT, type Stack, startStack, USERS } from "../support/stack";

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.stop();
});

async function openParameters(customer = "contoso") {
  await stack.say(`provision ${customer}`);
  return stack.lastCardMessage();
}

const reviewPlan = (customer = "contoso", inputs: Record<string, unknown> = {}) =>
  stack.reviewPlan(customer, { inputs });

const provision = (customer = "contoso") => stack.provision(customer);

const graphWrites = () => stack.graph.requests.filter((r) => r.method !== "GET" && r.path.startsWith("/v1.0"));

describe("provision, happy path", () => {
  it("creates the registration exactly as the vendor procedure requires and writes UMP", async () => {
    const { activityId: paramsId, card: params } = await openParameters("contoso");
    expect(cardText(params)).toContain("Provision the UMP-365 Sync App for contoso");
    expect(params.actions.map((a: any) => a.title)).toEqual(["Review plan"]);
    const inputIds: string[] = [];
    JSON.stringify(params, (_k, v) => {
      if (v && typeof v === "object" && typeof v.type === "string" && v.type.startsWith("Input.")) inputIds.push(v.id);
      return v;
    });
    expect(inputIds).toEqual([
      "customer",
      "appName",
      "serviceProviderFqdn",
      "displayName",
      "umpInstance",
      "secretLifetimeMonths",
    ]);

    const review = await stack.press(paramsId, "Review plan");
    expect(review.status).toBe(200);
    // What the requester sees once the plan is read (in the answer or a later update of the message).
    const plan = await stack.seesButton(USERS.requester, paramsId, "Approve");
    expect(cardText(plan)).toContain("approval needed");
    expect(cardText(plan)).toMatch(/Entra: create app registration/);
    expect(cardText(plan)).toMatch(/UMP ump-contoso: write clientId, clientSecret, redirectUri/);
    expect(cardText(plan)).toMatch(/Authentication Portal URL https:\/\/contoso\.ump\.example\.net\/authenticate/);
    expect(fact(plan, "Requested by")).toContain(USERS.requester.name);
    expect(fact(plan, "Approval expires")).toMatch(/UTC/);
    expect(graphWrites()).toHaveLength(0);

    await stack.seesButton(USERS.approver, paramsId, "Approve");
    const approve = await stack.press(paramsId, "Approve", { user: USERS.approver });
    expect(approve.status).toBe(200);

    const done = await stack.waitForCard(paramsId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    const text = cardText(done);
    expect(text).toMatch(/Approved by Megan Bowen/);
    expect(done.body[0].text).toBe("Provision for contoso: succeeded");

    const apps = stack.graph.applications();
    expect(apps).toHaveLength(1);
    const app = apps[0]!;
    expect(app.uniqueName).toBe("syncbot-contoso");
    expect(app.signInAudience).toBe("AzureADMultipleOrgs");
    expect(app.web.redirectUris).toEqual(["https://contoso.ump.example.net/authenticate/OAuth2Callback"]);
    expect(app.web.implicitGrantSettings).toEqual({ enableAccessTokenIssuance: true, enableIdTokenIssuance: true });
    expect(app.isFallbackPublicClient).toBe(true);
    expect(app.requiredResourceAccess).toHaveLength(1);
    expect(app.requiredResourceAccess[0]!.resourceAppId).toBe("00000003-0000-0000-c000-000000000000");
    expect(app.requiredResourceAccess[0]!.resourceAccess.map((a) => `${a.id}:${a.type}`).sort()).toEqual(
      REQUIRED_SCOPES.map((s) => `${s.id}:Scope`).sort(),
    );
    expect(app.passwordCredentials).toHaveLength(1);
    const secret = app.passwordCredentials[0]!;
    const months = (Date.parse(secret.endDateTime!) - Date.now()) / (30.44 * 86_400_000);
    expect(months).toBeGreaterThan(23.5);
    expect(months).toBeLessThan(24.5);

    const ump = stack.ump.settings("ump-contoso");
    expect(ump.syncApp.clientId).toBe(app.appId);
    expect(ump.syncApp.redirectUri).toBe("https://contoso.ump.example.net/authenticate/OAuth2Callback");
    expect(ump.syncApp.clientSecret.isSet).toBe(true);
    expect(ump.syncApp.clientSecret.fingerprint).toBe(stack.graph.secretFingerprint(app.id, secret.keyId));
    expect(ump.syncApp.clientSecret.expiresAt?.slice(0, 10)).toBe(secret.endDateTime!.slice(0, 10));
    expect(ump.customerAuthenticationPortalUrl).toEqual({
      value: "https://contoso.ump.example.net/authenticate",
      validationStatus: "Valid",
    });

    // The result card: every identifier the operator needs, and never the secret.
    expect(fact(done, "Application (client) ID")).toBe(app.appId);
    expect(fact(done, "Object ID")).toBe(app.id);
    expect(fact(done, "Redirect URL")).toBe("https://contoso.ump.example.net/authenticate/OAuth2Callback");
    expect(fact(done, "Authentication Portal URL")).toBe("https://contoso.ump.example.net/authenticate");
    expect(fact(done, "Secret keyId")).toBe(secret.keyId);
    expect(fact(done, "Secret hint")).toBe(secret.hint);
    expect(fact(done, "Secret expires")).toBe(secret.endDateTime!.slice(0, 10));
    expect(fact(done, "UMP revision")).toBe(String(ump.revision));
    expect(fact(done, "Verification result")).toBe("verified (token proof ok)");
    expect(fact(done, "Admin consent link")).toBe(
      `https://login.microsoftonline.com/5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f/adminconsent?client_id=${app.appId}`,
    );
    expect(text).not.toMatch(/\$\{/);

    // Every Graph request said which language it wants.
    for (const r of stack.graph.requests.filter((q) => q.path.startsWith("/v1.0")))
      expect(r.headers["accept-language"]).toBe("en-US");
    // The UMP writes carried If-Match and an Idempotency-Key.
    for (const r of stack.ump.requests.filter((q) => q.method !== "GET")) {
      expect(r.headers["if-match"]).toBeTruthy();
      expect(r.headers["idempotency-key"]).toBeTruthy();
    }

    // The record: the registration with its secret's key id, and an audit trail.
    const reg = await stack.bot.repo.getRegistration("contoso");
    expect(reg?.appId).toBe(app.appId);
    expect(reg?.secrets.map((s) => s.keyId)).toEqual([secret.keyId]);
    const audit = await stack.bot.repo.listAudit("contoso", { limit: 100 });
    const actions = audit.events.map((e) => e.action);
    for (const a of [
      "provision.requested",
      "approval.approved",
      "secret.added",
      "ump.syncApp.written",
      "run.succeeded",
    ])
      expect(actions).toContain(a);
  });

  it("never lets the secret reach a message, card, log line, request record or the database", async () => {
    const { card } = await provision("contoso");
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    // The emulator can tell us the secret's fingerprint; finding the value needs the value itself,
    // which only the bot ever saw: recover it by matching the fingerprint against every token-like string.
    const app = stack.graph.applications()[0]!;
    const fp = stack.graph.secretFingerprint(app.id, app.passwordCredentials[0]!.keyId);
    const everything = stack.everything();
    const candidates = new Set(everything.match(/[A-Za-z0-9~._-]{30,64}/g) ?? []);
    for (const c of candidates) expect(secretFingerprint(c)).not.toBe(fp);
    expectNoSecretIn(everything, stack.graph.issuedSecrets());
    expect(stack.bot.provisioning.heldSecretCount()).toBe(0);
  });
});

describe("approval rules", () => {
  it("refuses the requester's own approval, and nothing is written to Graph", async () => {
    const { activityId } = await reviewPlan();
    const answer = await stack.press(activityId, "Approve", { user: USERS.requester });
    expect(cardText(answer.card)).toMatch(/Alex Wilber pressed Approve: refused\. Alex Wilber asked for this change/);
    expect(answer.card.actions.map((a: any) => a.title)).toEqual(["Approve", "Reject"]);
    expect(graphWrites()).toHaveLength(0);
    expect(stack.ump.requests.filter((r) => r.method !== "GET")).toHaveLength(0);
    const audit = await stack.bot.repo.listAudit("contoso", { limit: 50 });
    expect(audit.events.some((e) => e.action === "approval.refused" && e.actor === "Alex Wilber")).toBe(true);
  });

  it("refuses a user who is not a Global Administrator, checked live through Graph", async () => {
    // Telling "no role" from "a role through a group" needs a membership-reading permission.
    stack.graph.setStrict(true, [...LEAST_PRIVILEGE, "GroupMember.Read.All"]);
    const { activityId } = await reviewPlan();
    await stack.seesButton(USERS.bystander, activityId, "Approve");
    const answer = await stack.press(activityId, "Approve", { user: USERS.bystander });
    expect(cardText(answer.card)).toMatch(/Adele Vance is not an eligible approver/);
    expect(graphWrites()).toHaveLength(0);
    expect(stack.graph.requests.some((r) => r.path.includes("roleAssignments"))).toBe(true);
    // The membership query was asked the way Graph answers it (an advanced query), and answered.
    const casts = stack.graph.requests.filter((r) => r.path.includes("/transitiveMemberOf/"));
    expect(casts.map((r) => [r.status, r.headers["consistencylevel"], r.query["$count"]])).toEqual([
      [200, "eventual", "true"],
    ]);
    expect(stack.logs.join("\n")).not.toMatch(/"level":"error"/);
  });

  it("accepts a Global Administrator whose role comes through a group, where syncbot may read membership", async () => {
    stack.graph.setStrict(true, [...LEAST_PRIVILEGE, "GroupMember.Read.All"]);
    const { activityId } = await reviewPlan();
    await stack.seesButton(USERS.groupAdmin, activityId, "Approve");
    await stack.press(activityId, "Approve", { user: USERS.groupAdmin });
    const card = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    // An advanced query (ConsistencyLevel: eventual, $count=true): Graph answers 400 without them.
    const casts = stack.graph.requests.filter((r) => r.path.includes("/transitiveMemberOf/"));
    expect(casts.map((r) => [r.status, r.headers["consistencylevel"], r.query["$count"]])).toEqual([
      [200, "eventual", "true"],
    ]);
    expect(card.body[0].text).toMatch(/succeeded/);
    expect(JSON.stringify(card)).toMatch(/Approved by Lee Gu \(Global Administrator \(live check\)\)/);
  });

  it("without a membership permission, a role through a group is 'could not be verified': no error, no write", async () => {
    const { activityId } = await reviewPlan();
    const answer = await stack.press(activityId, "Approve", { user: USERS.groupAdmin });
    expect(answer.status).toBe(200);
    const text = cardText(answer.card);
    expect(text).toMatch(/Lee Gu pressed Approve: refused\. Lee Gu's Global Administrator role could not be verified/);
    expect(text).toMatch(/GroupMember\.Read\.All/);
    expect(text).toMatch(/APPROVER_IDS/);
    expect(answer.card.actions.map((a: any) => a.title)).toEqual(["Approve", "Reject"]);
    expect(stack.graph.requests.some((r) => r.path.includes("/transitiveMemberOf/") && r.status === 403)).toBe(true);
    expect(graphWrites()).toHaveLength(0);
    expect(stack.ump.requests.filter((r) => r.method !== "GET")).toHaveLength(0);
    const audit = await stack.bot.repo.listAudit("contoso", { limit: 50 });
    expect(
      audit.events.some((e) => e.action === "approval.refused" && e.outcome === "refused" && e.actor === "Lee Gu"),
    ).toBe(true);
    expect((await stack.bot.repo.listRequests())[0]!.state).toBe("planned");
  });

  it("a second Approve after success creates no second app and no second secret", async () => {
    const { activityId } = await reviewPlan();
    // The plan as the second admin's client showed it before the first approval (not the requester's answer).
    const staleApprovalCard = await stack.seesButton(USERS.groupAdmin, activityId, "Approve");
    await stack.seesButton(USERS.approver, activityId, "Approve");
    await stack.press(activityId, "Approve", { user: USERS.approver });
    await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    const writesBefore = graphWrites().length;
    const again = await stack.press(activityId, "Approve", { user: USERS.groupAdmin, card: staleApprovalCard });
    expect(again.card ? cardText(again.card) : again.text).toMatch(/already succeeded/);
    await new Promise((r) => setTimeout(r, 200));
    expect(graphWrites().length).toBe(writesBefore);
    expect(stack.graph.applications()).toHaveLength(1);
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(1);
  });

  it("refuses an expired approval", async () => {
    await stack.restart({ APPROVAL_TTL_HOURS: "0.01" }); // 36 seconds
    const { activityId } = await reviewPlan();
    const requestId = (await stack.bot.repo.listRequests())[0]!.id;
    await stack.bot.repo.updateRequest(requestId, (r) => ({
      ...r,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    }));
    await stack.seesButton(USERS.approver, activityId, "Approve");
    const answer = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(cardText(answer.card)).toMatch(/expired/);
    expect((await stack.bot.repo.getRequest(requestId))?.state).toBe("expired");
    expect(graphWrites()).toHaveLength(0);
  });

  it("Reject closes the request and Approve is then refused", async () => {
    const { activityId } = await reviewPlan();
    await stack.seesButton(USERS.bystander, activityId, "Reject");
    await stack.press(activityId, "Reject", { user: USERS.bystander });
    const rejected = await stack.waitForView(USERS.bystander, activityId, (c) => /: rejected$/.test(c.body[0].text));
    expect(rejected.body[0].text).toBe("Provision for contoso: rejected");
    expect(rejected.actions ?? []).toHaveLength(0);
    // The approver sees the rejection too, with nothing left to press.
    const approverSees = await stack.waitForView(USERS.approver, activityId, (c) => /: rejected$/.test(c.body[0].text));
    expect(approverSees.actions ?? []).toHaveLength(0);
    const requestId = (await stack.bot.repo.listRequests())[0]!.id;
    const late = await stack
      .press(activityId, "Reject", {
        user: USERS.approver,
        data: { requestId },
      })
      .catch((e) => e);
    expect(String(late.message ?? cardText(late.card))).toMatch(/no button "Reject"|already rejected/);
    const forged = await stack
      .press(activityId, "Review plan", {
        user: USERS.approver,
        data: { requestId },
      })
      .catch((e) => e);
    expect(forged).toBeDefined();
    expect(graphWrites()).toHaveLength(0);
  });

  it("decides from the stored request, never from forged card data", async () => {
    const { activityId } = await reviewPlan();
    const requestId = (await stack.bot.repo.listRequests())[0]!.id;
    // A forged payload claiming another plan hash and an approver identity.
    const forged = await stack.press(activityId, "Approve", {
      user: USERS.requester,
      data: {
        requestId,
        planHash: "0".repeat(64),
        approver: USERS.approver.aadObjectId,
        requester: USERS.bystander.aadObjectId,
      },
    });
    expect(cardText(forged.card)).toMatch(/refused/);
    await stack.seesButton(USERS.approver, activityId, "Approve");
    const unknown = await stack.press(activityId, "Approve", { user: USERS.approver, data: { requestId: "nope" } });
    // The card shows its own request: another id is refused before any lookup.
    expect(unknown.text).toMatch(/another request; nothing was changed/);
    expect(graphWrites()).toHaveLength(0);
  });
});

describe("input and tenant boundaries", () => {
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ["app name not a DNS label", { appName: "Bad_Name!" }, /DNS label/],
    ["app name with a dot", { appName: "a.b" }, /DNS label/],
    ["malformed FQDN", { serviceProviderFqdn: "https://ump.example.net/x" }, /fully qualified domain name/],
    ["single-label FQDN", { serviceProviderFqdn: "localhost" }, /fully qualified domain name/],
    ["lifetime over 24", { secretLifetimeMonths: 36 }, /1 to 24/],
    ["lifetime zero", { secretLifetimeMonths: "0" }, /1 to 24/],
    ["oversized display name", { displayName: "x".repeat(5000) }, /At most 120/],
    ["hostile display name", { displayName: "<script>alert(1)</script>" }, /angle brackets/],
    ["unknown UMP instance", { umpInstance: "ump-nowhere" }, /UMP does not know the instance/],
  ];
  for (const [name, inputs, message] of bad) {
    it(`rejects ${name} next to the field and writes nothing`, async () => {
      const { card } = await reviewPlan("contoso", inputs);
      expect(cardText(card)).toMatch(message);
      expect(card.actions.map((a: any) => a.title)).toEqual(["Review plan"]);
      expect(await stack.bot.repo.listRequests()).toHaveLength(0);
      expect(graphWrites()).toHaveLength(0);
      expect(cardText(card)).not.toMatch(/\$\{/);
    });
  }

  it("serves no one from another tenant and writes nothing", async () => {
    const res = await stack.say("provision contoso", { tenantId: OTHER_TENANT });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(stack.connector.activities).toHaveLength(0);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
    // A button press from another tenant on a real card.
    const { activityId } = await reviewPlan();
    await stack.seesButton(USERS.approver, activityId, "Approve");
    const answer = await stack.press(activityId, "Approve", { user: USERS.approver, tenantId: OTHER_TENANT });
    expect(answer.body?.statusCode).toBe(403);
    expect((await stack.bot.repo.listRequests())[0]!.state).toBe("planned");
    expect(graphWrites()).toHaveLength(0);
  });

  it("answers help and unknown text with the command list", async () => {
    await stack.say("frobnicate");
    const { card } = stack.lastCardMessage();
    expect(cardText(card)).toMatch(/I don't know "frobnicate"/);
    for (const c of [
      "provision <customer>",
      "status [customer]",
      "check <customer>",
      "rotate <customer>",
      "history <customer>",
    ])
      expect(cardText(card)).toContain(c);
  });
});
