// End to end against the strict Graph emulator (issue 10): the service principal, an application
// someone else owns, the tenant's secret lifetime policy, `doctor`, removePassword's 400 for a secret
// deleted by hand and a foreign web.homePageUrl kept across a repair.

import { afterEach, describe, expect, it } from "vitest";
import type { FullDirectory } from "../../src/domain/ports";
import { createGraphDirectory } from "../../src/graph/createGraphDirectory";
import { type GraphAppPermission, LEAST_PRIVILEGE } from "../emulators/graphEmulator";
import {
  allActionTitles,
  cardText,
  expectNoSecretIn,
  fact,
  runFinished,
  type Stack,
  type StackOptions,
  startStack,
  USERS,
} from "../support/stack";

let stack: Stack | undefined;
afterEach(async () => {
  if (stack) expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack?.stop();
  stack = undefined;
});

const graphWrites = (s: Stack) => s.graph.requests.filter((r) => r.method !== "GET" && r.path.startsWith("/v1.0"));

/**
 * A stack whose Graph adapter holds an access token the emulator issued (as a real credential would),
 * so syncbot knows its own identity (`oid`) and permissions (`roles`). Bound once the emulator runs.
 */
async function startStackWithToken(options: StackOptions = {}): Promise<Stack> {
  let target: FullDirectory | undefined;
  const directory = new Proxy({} as FullDirectory, {
    get:
      (_t, key: keyof FullDirectory) =>
      (...args: unknown[]) =>
        (target![key] as (...a: unknown[]) => unknown)(...args),
  });
  const s = await startStack({ ...options, overrides: { ...options.overrides, directory } });
  target = createGraphDirectory({
    baseUrl: s.graph.graphBaseUrl,
    // A short-lived token, asked for again on every call: a test that changes permissions sees them.
    credential: { getToken: async () => ({ token: s.graph.callerToken(), expiresOnTimestamp: Date.now() + 60_000 }) },
  });
  return s;
}

const withPermissions = (s: Stack, extra: GraphAppPermission[]) =>
  s.graph.setStrict(true, [...LEAST_PRIVILEGE, ...extra]);

describe("service principal", () => {
  it("a fresh provisioning creates the app's service principal, tagged like the app, and the token proof passes", async () => {
    stack = await startStack();
    const { answer } = await stack.reviewPlan("contoso");
    const plan = cardText(answer.card);
    expect(plan).toMatch(/Entra: create the app's service principal \(enterprise application\)/);
    expect(plan).toMatch(
      /Note: The tenant's app management policy was not checked \(syncbot lacks Policy\.Read\.All\)/,
    );
    const { card } = await stack.provision("contoso");
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    const app = stack.graph.applications()[0]!;
    const sps = stack.graph.servicePrincipals().filter((sp) => sp.appId === app.appId);
    expect(sps).toHaveLength(1);
    expect(sps[0]!.tags).toEqual(expect.arrayContaining(app.tags.filter((t) => t.startsWith("syncbot"))));
    expect(fact(card, "Service principal object ID")).toBe(sps[0]!.id);
    expect(fact(card, "Verification result")).toBe("verified (token proof ok)");
    expect(cardText(card)).toMatch(/Service principal: done: created/);
    // The token endpoint was asked, and accepted, only once the service principal existed.
    const spAt = stack.graph.requests.find((r) => r.method === "POST" && r.path === "/v1.0/servicePrincipals")!.at;
    const tokens = stack.graph.requests.filter((r) => r.path.endsWith("/oauth2/v2.0/token"));
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((t) => t.at >= spAt && t.status === 200)).toBe(true);
  });

  it("an existing app without one: the plan says so, check reports it, and the run creates it", async () => {
    stack = await startStack();
    await stack.provision("contoso");
    const registration = (await stack.bot.repo.getRegistration("contoso"))!;
    // The same registration re-created by hand without its enterprise application (as Graph creates apps).
    const [seeded] = stack.graph.seedApplications([
      { uniqueName: "syncbot-fabrikam", displayName: "Fabrikam sync", tags: ["syncbot", "syncbot:customer:fabrikam"] },
    ]);
    await stack.bot.repo.saveRegistration("fabrikam", () => ({
      ...registration,
      customer: "fabrikam",
      params: { ...registration.params, customer: "fabrikam", appName: "fabrikam", umpInstance: "ump-fabrikam" },
      objectId: seeded!.id,
      appId: seeded!.appId,
      secrets: [],
    }));
    await stack.say("check fabrikam");
    expect(cardText(stack.lastCardMessage().card)).toMatch(/create the app's service principal/);
    const { card } = await stack.provision("fabrikam");
    expect(card.body[0].text).toBe("Provision for fabrikam: succeeded");
    expect(stack.graph.servicePrincipals().filter((sp) => sp.appId === seeded!.appId)).toHaveLength(1);
    expect(fact(card, "Verification result")).toBe("verified (token proof ok)");
  });
});

describe("an application someone else owns", () => {
  it("least privilege cannot even read it: Review plan says so and what to do; nothing can be approved", async () => {
    stack = await startStack();
    stack.graph.seedApplications([
      { uniqueName: "syncbot-contoso", displayName: "Not ours", owners: [USERS.bystander.aadObjectId] },
    ]);
    const { answer } = await stack.reviewPlan("contoso");
    const text = cardText(answer.card);
    expect(text).toMatch(
      /An app registration named "syncbot-contoso" exists in Entra, but Graph refused syncbot's read \(403\)/,
    );
    expect(text).toMatch(
      /Add syncbot's identity .* as an owner of that app registration, or choose another name: use another customer short name/,
    );
    expect(allActionTitles(answer.card)).toEqual(["Review plan"]);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
    expect(graphWrites(stack)).toHaveLength(0);
    const audit = await stack.bot.repo.listAudit("contoso", { limit: 10 });
    expect(audit.events.map((e) => [e.action, e.outcome])).toEqual([["provision.refused", "refused"]]);
  });

  it("with Application.Read.All the owners are named", async () => {
    stack = await startStackWithToken();
    withPermissions(stack, ["Application.Read.All"]);
    stack.graph.seedApplications([
      { uniqueName: "syncbot-contoso", displayName: "Not ours", owners: [USERS.bystander.aadObjectId] },
    ]);
    const { answer } = await stack.reviewPlan("contoso");
    const text = cardText(answer.card);
    expect(text).toMatch(/is not owned by syncbot's identity \(owners: Adele Vance\)/);
    expect(text).toMatch(/or choose another name/);
    expect(allActionTitles(answer.card)).toEqual(["Review plan"]);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
    // Another name plans, and syncbot owns what it creates.
    const other = await stack.reviewPlan("contoso2", { inputs: { appName: "contoso2", umpInstance: "ump-fabrikam" } });
    expect(cardText(other.answer.card)).toMatch(/approval needed/);
  });
});

describe("the tenant's app management policy", () => {
  it("capping secrets at 6 months: Review plan refuses 24 with the allowed maximum, accepts 6", async () => {
    stack = await startStack();
    withPermissions(stack, ["Policy.Read.All"]);
    stack.graph.setDefaultAppManagementPolicy({ maxLifetimeDays: 184 });
    const refused = await stack.reviewPlan("contoso");
    const text = cardText(refused.answer.card);
    expect(text).toMatch(
      /the tenant's default app management policy allows client secrets of at most 184 days \(P184D\); 24 months is longer\. Choose at most 6 months\./,
    );
    expect(allActionTitles(refused.answer.card)).toEqual(["Review plan"]);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
    const { card } = await stack.provision("contoso", { inputs: { secretLifetimeMonths: "6" } });
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    const end = Date.parse(stack.graph.applications()[0]!.passwordCredentials[0]!.endDateTime!);
    expect(end - Date.now()).toBeLessThanOrEqual(184 * 86_400_000);
    expect(graphWrites(stack).filter((r) => r.status >= 400)).toHaveLength(0);
  });

  it("secrets blocked: Review plan says so; without Policy.Read.All it says the policy was not checked", async () => {
    stack = await startStack();
    stack.graph.setDefaultAppManagementPolicy({ blockPasswordAddition: true });
    const unchecked = await stack.reviewPlan("contoso");
    expect(cardText(unchecked.answer.card)).toMatch(/policy was not checked \(syncbot lacks Policy\.Read\.All\)/);
    withPermissions(stack, ["Policy.Read.All"]);
    // The tenant policy (and Graph's 403 for it) is cached per process for 10 minutes: a grant shows
    // after that or at the next start.
    const cached = await stack.reviewPlan("contoso");
    expect(cardText(cached.answer.card)).toMatch(/policy was not checked \(syncbot lacks Policy\.Read\.All\)/);
    await stack.restart();
    const blocked = await stack.reviewPlan("contoso");
    expect(cardText(blocked.answer.card)).toMatch(
      /blocks new client secrets, so Entra would refuse the secret this plan adds/,
    );
    expect(allActionTitles(blocked.answer.card)).toEqual(["Review plan"]);
  });
});

describe("doctor", () => {
  it("names a missing and an excess permission, with what to do", async () => {
    stack = await startStackWithToken();
    stack.graph.setStrict(true, ["Application.ReadWrite.OwnedBy", "Application.Read.All"]);
    await stack.say("doctor");
    const text = cardText(stack.lastCardMessage().card);
    expect(text).toMatch(/FAIL Graph permissions: missing RoleManagement\.Read\.Directory \(the approver check/);
    expect(text).toMatch(
      /What to do: grant RoleManagement\.Read\.Directory as Microsoft Graph application permissions/,
    );
    expect(text).toMatch(/WARN Graph permissions: more than needed: Application\.Read\.All/);
    expect(text).toMatch(/OK Graph reachable/);
    expect(text).toMatch(/OK Clock: \d+ s (ahead of|behind) Graph's clock/);
    expect(text).toMatch(/OK UMP: reachable, token accepted/);
    expect(text).toMatch(/OK Store: writable/);
    expect(text).toMatch(/WARN Bot identity: BOT_AUTH=disabled/);
    expect(text).toMatch(/1 failure\(s\)/);

    stack.graph.setStrict(true, LEAST_PRIVILEGE);
    await stack.say("doctor");
    const fine = cardText(stack.lastCardMessage().card);
    expect(fine).toMatch(
      /OK Graph permissions: holds Application\.ReadWrite\.OwnedBy, RoleManagement\.Read\.Directory/,
    );
    expect(fine).toMatch(/OK Optional permission: Policy\.Read\.All not held/);
    expect(fine).not.toMatch(/FAIL/);
  });
});

describe("robust removal and whole writes", () => {
  it("removePassword answered 400 for a secret deleted by hand ends as 'already gone'", async () => {
    stack = await startStack({ env: { ROTATION_GRACE_HOURS: "0" } });
    await stack.provision("contoso");
    const app = stack.graph.applications()[0]!;
    const oldKey = app.passwordCredentials[0]!.keyId;
    await stack.say("rotate contoso");
    const { activityId } = stack.lastCardMessage();
    // Someone deletes the old secret in the portal just before syncbot removes it.
    stack.graph.onRequest((r) => {
      if (r.phase === "before" && r.method === "POST" && r.path.endsWith("/removePassword"))
        stack!.graph.removePasswordByHand(app.id, oldKey);
    });
    await stack.press(activityId, "Approve", { user: USERS.approver });
    const card = await stack.waitForCard(activityId, runFinished);
    stack.graph.onRequest(null);
    expect(card.body[0].text).toBe("Rotate the secret for contoso: succeeded");
    const remove = stack.graph.requests.filter((r) => r.path.endsWith("/removePassword"));
    expect(remove.map((r) => r.status)).toEqual([400]);
    const now = stack.graph.application(app.id)!.passwordCredentials.map((p) => p.keyId);
    expect(now).not.toContain(oldKey);
    expect(now).toHaveLength(1);
    const registration = (await stack.bot.repo.getRegistration("contoso"))!;
    expect(registration.secrets.map((s) => s.keyId)).toEqual(now);
  });

  it("a foreign web.homePageUrl and logoutUrl are kept across a repair", async () => {
    stack = await startStack();
    await stack.provision("contoso");
    const app = stack.graph.applications()[0]!;
    stack.graph.mutateApplication(app.id, (a) => {
      a.web.homePageUrl = "https://portal.contoso.example/home";
      a.web.logoutUrl = "https://portal.contoso.example/logout";
      a.web.implicitGrantSettings.enableIdTokenIssuance = false;
    });
    const { answer } = await stack.reviewPlan("contoso");
    expect(cardText(answer.card)).toMatch(/set web\.implicitGrantSettings/);
    const { card } = await stack.provision("contoso");
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    const web = stack.graph.application(app.id)!.web;
    expect(web.homePageUrl).toBe("https://portal.contoso.example/home");
    expect(web.logoutUrl).toBe("https://portal.contoso.example/logout");
    expect(web.implicitGrantSettings.enableIdTokenIssuance).toBe(true);
    const patch = stack.graph.requests.filter((r) => r.method === "PATCH").at(-1)!;
    expect((patch.body as any).web.homePageUrl).toBe("https://portal.contoso.example/home");
  });
});

describe("syncbot's own identity, from its real token", () => {
  it("Review plan of an existing registration names the ownership check's result, never 'not verified'", async () => {
    stack = await startStack();
    // An app registration syncbot's identity owns (as if a run had created it and its record was lost).
    stack.graph.seedApplications([{ uniqueName: "syncbot-contoso", displayName: "Contoso sync" }]);
    const { answer } = await stack.reviewPlan("contoso");
    const text = cardText(answer.card);
    expect(text).toMatch(
      /Ownership verified: syncbot's identity is an owner of this app registration \(owners: syncbot/,
    );
    expect(text).not.toMatch(/Ownership not verified/);
  });
});
