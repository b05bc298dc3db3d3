// End to end: `rotate <customer>` is approval-gated like provisioning, then adds a new secret, writes
// it to UMP, verifies UMP's fingerprint, keeps the old secret through the grace period and lets the
// sweep remove it. A failed UMP write removes the new secret and leaves the old one untouched. After
// each path Entra and UMP agree and no secret is orphaned (invariant 5).

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { secretFingerprint } from "../emulators/umpEmulator";
import { cardText, fact, JOBS_KEY, manualClock, type Stack, startStack, USERS } from "../support/stack";

const HOUR = 3_600_000;
let stack: Stack;
const clock = manualClock();

beforeEach(async () => {
  clock.t = Date.now();
  stack = await startStack({ clock });
});
afterEach(async () => {
  await stack.stop();
});

async function provision(customer = "contoso") {
  const { card } = await stack.provision(customer);
  expect(card.body[0].text).toBe(`Provision for ${customer}: succeeded`);
  return stack.graph.applications().find((a) => a.uniqueName === `syncbot-${customer}`)!;
}

async function sweepNow() {
  const res = await fetch(`${stack.url}/api/jobs/expiry-sweep`, {
    method: "POST",
    headers: { "x-jobs-key": JOBS_KEY },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}

/** Entra and UMP agree, and every live secret is one syncbot recorded (none orphaned). */
async function expectConsistent(objectId: string, instance: string, expectedKeys: string[]) {
  const app = stack.graph.application(objectId)!;
  const live = app.passwordCredentials.map((p) => p.keyId).sort();
  expect(live).toEqual([...expectedKeys].sort());
  const reg = (await stack.bot.repo.getRegistration("contoso"))!;
  expect(reg.secrets.map((s) => s.keyId).sort()).toEqual(live);
  const umpFp = stack.ump.settings(instance).syncApp.clientSecret.fingerprint;
  const active = reg.secrets.filter((s) => s.status === "active");
  expect(active).toHaveLength(1);
  expect(stack.graph.secretFingerprint(objectId, active[0]!.keyId)).toBe(umpFp);
}

async function askRotation(user = USERS.requester) {
  await stack.say("rotate contoso", { user });
  return stack.lastCardMessage();
}

describe("rotate <customer>", () => {
  it("happy path: approval, new secret in Entra and UMP, both valid through the grace period, then the old one goes", async () => {
    const app = await provision();
    const oldKey = app.passwordCredentials[0]!.keyId;
    const writesBefore = stack.graph.writes().length;

    const { activityId, card: plan } = await askRotation();
    expect(plan.body[0].text).toBe("Rotate the secret for contoso: approval needed");
    expect(cardText(plan)).toMatch(/Entra: add client secret for service "ump"/);
    expect(cardText(plan)).toMatch(/UMP ump-contoso: write .*clientSecret/);
    expect(cardText(plan)).toContain(`remove the old secret ${oldKey}`);
    expect(fact(plan, "Approval expires")).toMatch(/UTC/);
    // Same approver rules as provisioning: not the requester, only an eligible approver.
    const own = await stack.press(activityId, "Approve", { user: USERS.requester });
    expect(cardText(own.card)).toMatch(/refused/);
    const bystander = await stack.press(activityId, "Approve", { user: USERS.bystander });
    // Least privilege cannot read group membership: a user without a direct assignment is "not verified".
    expect(cardText(bystander.card)).toMatch(/Adele Vance pressed Approve: refused\. .*could not be verified/);
    expect(stack.graph.writes().length).toBe(writesBefore);

    await stack.press(activityId, "Approve", { user: USERS.approver });
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Rotate the secret for contoso: succeeded");
    // A line per stage on the card.
    const text = cardText(done);
    expect(text).toMatch(/Client secret: done: keyId/);
    expect(text).toMatch(/UMP sync-app settings: done: UMP revision/);
    expect(text).toMatch(/Verification: done: verified \(token proof ok\)/);
    expect(text).toMatch(/Tidy old secrets: done: old secret kept until/);
    const newKey = fact(done, "Secret keyId")!;
    expect(newKey).not.toBe(oldKey);

    // Grace period: both secrets valid, UMP holds the new one.
    await expectConsistent(app.id, "ump-contoso", [oldKey, newKey]);
    const reg = (await stack.bot.repo.getRegistration("contoso"))!;
    const old = reg.secrets.find((s) => s.keyId === oldKey)!;
    expect(old.status).toBe("superseded");
    expect(Date.parse(old.removeAfter!)).toBe(clock.t + 24 * HOUR);

    // A sweep inside the grace period keeps it.
    clock.t += 23 * HOUR;
    expect((await sweepNow()).removedSuperseded).toBe(0);
    expect(stack.graph.application(app.id)!.passwordCredentials).toHaveLength(2);

    // syncbot was down when the grace period ended: the next sweep removes the old secret and says so.
    await stack.restart();
    clock.t += 3 * HOUR;
    expect((await sweepNow()).removedSuperseded).toBe(1);
    await expectConsistent(app.id, "ump-contoso", [newKey]);
    const notice = stack.connector.activities.find(
      (a) => a.op === "create" && /Rotation of contoso complete/.test(a.activity?.text ?? ""),
    );
    expect(notice?.activity.text).toContain(oldKey);
    expect((await sweepNow()).removedSuperseded).toBe(0);

    const actions = (await stack.bot.repo.listAudit("contoso", { limit: 100 })).events.map((e) => e.action);
    for (const a of [
      "rotate.requested",
      "approval.approved",
      "secret.added",
      "ump.syncApp.written",
      "secret.superseded",
      "secret.removed",
    ])
      expect(actions).toContain(a);

    // The secret values appear nowhere.
    const fps = new Set([stack.graph.secretFingerprint(app.id, newKey)]);
    for (const c of new Set(stack.everything().match(/[A-Za-z0-9~._-]{30,64}/g) ?? []))
      expect(fps.has(secretFingerprint(c))).toBe(false);
  });

  it("a failed UMP write removes the new secret and leaves the old one and UMP untouched", async () => {
    const app = await provision();
    const oldKey = app.passwordCredentials[0]!.keyId;
    const umpBefore = stack.ump.settings("ump-contoso");
    const { activityId } = await askRotation();
    stack.ump.injectFault({ status: 500, count: 10, match: { method: "PATCH", pathIncludes: "sync-app" } });
    await stack.press(activityId, "Approve", { user: USERS.approver });
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Rotate the secret for contoso: failed");
    expect(cardText(done)).toMatch(/UMP sync-app settings/);
    expect(cardText(done)).toMatch(/removed again, UMP read back holds the previous secret/);

    await expectConsistent(app.id, "ump-contoso", [oldKey]);
    const umpAfter = stack.ump.settings("ump-contoso");
    expect(umpAfter.syncApp.clientSecret.fingerprint).toBe(umpBefore.syncApp.clientSecret.fingerprint);
    expect(umpAfter.revision).toBe(umpBefore.revision);
    const reg = (await stack.bot.repo.getRegistration("contoso"))!;
    expect(reg.secrets.map((s) => `${s.keyId}:${s.status}`)).toEqual([`${oldKey}:active`]);
    // A later sweep removes nothing and the old secret keeps its reminders.
    expect((await sweepNow()).removedSuperseded).toBe(0);
    expect(stack.graph.application(app.id)!.passwordCredentials.map((p) => p.keyId)).toEqual([oldKey]);
    expect(stack.bot.provisioning.heldSecretCount()).toBe(0);
  });

  it("refuses an unknown customer, a malformed service name, and another service without hand-off links, writing nothing", async () => {
    await provision();
    const writes = stack.graph.writes().length;
    await stack.say("rotate nobody");
    await stack.say("rotate contoso mailer");
    await stack.say("rotate contoso Bad_Name!");
    const texts = stack.connector.activities.filter((a) => a.op === "create").map((a) => a.activity?.text ?? "");
    expect(texts.some((t) => /manages no registration for "nobody"/.test(t))).toBe(true);
    // Another service's secret can only reach its operator through a hand-off link; none is configured here.
    expect(texts.some((t) => /Handing over the "mailer" secret needs HANDOFF_KEY/.test(t))).toBe(true);
    expect(texts.some((t) => /"bad_name!" is not a service name|"Bad_Name!" is not a service name/.test(t))).toBe(true);
    expect(stack.graph.writes().length).toBe(writes);
  });
});
