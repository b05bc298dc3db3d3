// End to end: secret-expiry reminders through the real HTTP surface. A customer is provisioned in a
// channel, then an injected clock moves towards the secret's expiry and the jobs endpoint sweeps; the
// reminder arrives as a card in that channel (connector emulator) and its buttons are pressed by title.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { secretFingerprint } from "../emulators/umpEmulator";
import {
  CHANNEL,
  cardText,
  expectNoSecretIn,
  fact,
  JOBS_KEY,
  manualClock,
  type Stack,
  startStack,
  USERS,
} from "../support/stack";

const DAY = 86_400_000;
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
  const app = stack.graph.applications().find((a) => a.uniqueName === `syncbot-${customer}`)!;
  return { app, secret: app.passwordCredentials[0]! };
}

async function sweepNow(headers: Record<string, string> = { "x-jobs-key": JOBS_KEY }) {
  const res = await fetch(`${stack.url}/api/jobs/expiry-sweep`, { method: "POST", headers });
  return { status: res.status, body: (await res.json()) as any };
}

const reminderMessages = () =>
  stack.connector.activities.filter(
    (a) =>
      a.op === "create" &&
      /secret of .* (expires in|has EXPIRED)/.test(a.activity?.attachments?.[0]?.content?.body?.[0]?.text ?? ""),
  );

describe("expiry reminders", () => {
  it("posts one reminder card per threshold into the provisioning conversation, with the secret's facts and both buttons", async () => {
    const { app, secret } = await provision();
    const end = Date.parse(secret.endDateTime!);

    clock.t = end - 59 * DAY - 3_600_000; // 59 days and an hour before expiry
    const first = await sweepNow();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ applications: 1, due: 1, sent: 1, failures: [] });
    const [msg] = reminderMessages();
    expect(msg).toBeDefined();
    // Posted where the customer was provisioned (the ops channel), not anywhere else.
    expect(msg!.conversationId).toContain(CHANNEL.channelId);
    const card = msg!.activity.attachments[0].content;
    expect(card.body[0].text).toBe("The ump secret of contoso expires in 60 days");
    expect(fact(card, "Customer")).toBe("contoso");
    expect(fact(card, "Client ID")).toBe(app.appId);
    expect(fact(card, "Secret keyId")).toBe(secret.keyId);
    expect(fact(card, "Secret hint")).toBe(secret.hint);
    expect(fact(card, "Expires")).toBe(`${secret.endDateTime!.slice(0, 16).replace("T", " ")} UTC`);
    expect(fact(card, "Days left")).toBe("60");
    expect(card.actions.map((a: any) => a.title)).toEqual(["Rotate secret", "Snooze"]);
    expect(cardText(card)).not.toMatch(/\$\{/);

    // The same sweep again, and again after a restart: nothing new.
    expect((await sweepNow()).body.sent).toBe(0);
    await stack.restart();
    expect((await sweepNow()).body.sent).toBe(0);
    expect(reminderMessages()).toHaveLength(1);

    // Each following threshold once, then once after expiry.
    for (const daysBefore of [29.9, 29.5, 13.9, 6.9, 6.5, 0.9, 0.5, -0.1, -3]) {
      clock.t = end - daysBefore * DAY;
      await sweepNow();
    }
    const titles = reminderMessages().map((m) => m.activity.attachments[0].content.body[0].text);
    expect(titles).toEqual([
      "The ump secret of contoso expires in 60 days",
      "The ump secret of contoso expires in 30 days",
      "The ump secret of contoso expires in 14 days",
      "The ump secret of contoso expires in 7 days",
      "The ump secret of contoso expires in 1 day",
      "The ump secret of contoso has EXPIRED",
    ]);
    const audit = await stack.bot.repo.listAudit("contoso", { limit: 100 });
    expect(audit.events.filter((e) => e.action === "reminder.sent")).toHaveLength(6);
  });

  it("a reminder the Bot Connector refused is not counted as sent: the next sweep delivers it, once", async () => {
    const { secret } = await provision();
    clock.t = Date.parse(secret.endDateTime!) - 29 * DAY;
    // Unavailable for longer than the connector client's own retries.
    stack.connector.failNextPosts(100, 503);
    const failed = await sweepNow();
    stack.connector.failNextPosts(0);
    expect(failed.body).toMatchObject({ due: 1, sent: 0 });
    expect(failed.body.failures.length).toBeGreaterThan(0);
    expect(reminderMessages()).toHaveLength(0);
    const again = await sweepNow();
    expect(again.body).toMatchObject({ due: 1, sent: 1, failures: [] });
    expect(reminderMessages()).toHaveLength(1);
    const third = await sweepNow();
    expect(third.body).toMatchObject({ sent: 0 });
    expect(reminderMessages()).toHaveLength(1);
  });

  it("Snooze holds the reminders for seven days and records who pressed it", async () => {
    const { secret } = await provision();
    const end = Date.parse(secret.endDateTime!);
    clock.t = end - 15 * DAY;
    await sweepNow();
    const [msg] = reminderMessages();
    const snoozed = await stack.press(msg!.activityId, "Snooze", { user: USERS.approver });
    expect(snoozed.status).toBe(200);
    const until = new Date(clock.t + 7 * DAY).toISOString().slice(0, 10);
    expect(cardText(snoozed.card)).toContain(`Snoozed until ${until} by ${USERS.approver.name}.`);
    const record = await stack.bot.repo.getSnooze(secret.keyId);
    expect(record?.by).toMatchObject({ id: USERS.approver.aadObjectId, name: USERS.approver.name });
    const audit = await stack.bot.repo.listAudit("contoso", { limit: 50 });
    expect(audit.events.some((e) => e.action === "reminder.snoozed" && e.actor === USERS.approver.name)).toBe(true);

    clock.t = end - 13 * DAY; // the 14-day threshold, inside the snooze
    expect((await sweepNow()).body.sent).toBe(0);
    clock.t = end - 7.5 * DAY; // snooze over; still "14": never reminded, so it comes now
    expect((await sweepNow()).body.sent).toBe(1);
    expect(reminderMessages()).toHaveLength(2);
    expect(reminderMessages()[1]!.activity.attachments[0].content.body[0].text).toBe(
      "The ump secret of contoso expires in 8 days",
    );
  });

  it("Rotate secret on the reminder card opens an approval-gated rotation plan", async () => {
    const { secret } = await provision();
    clock.t = Date.parse(secret.endDateTime!) - 6 * DAY;
    await sweepNow();
    const [msg] = reminderMessages();
    const writesBefore = stack.graph.writes().length;
    const answer = await stack.press(msg!.activityId, "Rotate secret");
    expect(answer.text).toMatch(/Preparing a plan to rotate the ump secret of contoso/);
    // The plan is a new message everyone in the conversation sees, not a change of the reminder.
    const posted = await stack.connector.waitFor((cur) =>
      cur.find((a) => /Rotate the secret for contoso: approval needed/.test(JSON.stringify(a.activity))),
    );
    const plan = posted.activity.attachments[0].content;
    expect(plan.body[0].text).toBe("Rotate the secret for contoso: approval needed");
    expect(cardText(plan)).toMatch(/add client secret for service "ump"/);
    expect(cardText(plan)).toMatch(/remove the old secret .* after the grace period/);
    expect(plan.actions.map((a: any) => a.title)).toEqual(["Approve", "Reject"]);
    // Nothing is written before approval.
    expect(stack.graph.writes().length).toBe(writesBefore);
  });

  it("the jobs endpoint refuses a missing or wrong x-jobs-key", async () => {
    await provision();
    clock.t += 720 * DAY;
    expect((await sweepNow({})).status).toBe(401);
    expect((await sweepNow({ "x-jobs-key": "wrong" })).status).toBe(401);
    expect((await sweepNow({ "x-jobs-key": `${JOBS_KEY}x` })).status).toBe(401);
    expect(reminderMessages()).toHaveLength(0);
    expect(
      await stack.bot.repo.listReminders(stack.graph.applications()[0]!.passwordCredentials[0]!.keyId),
    ).toHaveLength(0);
  });

  it("over HTTP, at is accepted only with dryRun=true: a key holder cannot post false reminders or remove early", async () => {
    const { secret } = await provision();
    const at = new Date(Date.parse(secret.endDateTime!) + DAY).toISOString(); // "EXPIRED" there
    const sweepAt = async (query: string) => {
      const res = await fetch(`${stack.url}/api/jobs/expiry-sweep?${query}`, {
        method: "POST",
        headers: { "x-jobs-key": JOBS_KEY },
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    for (const query of [`at=${at}`, `at=${at}&dryRun=false`, `at=${at}&dryRun=1`]) {
      const refused = await sweepAt(query);
      expect(refused.status, query).toBe(400);
      expect(refused.body.message).toMatch(/at is accepted only together with dryRun=true/);
    }
    expect((await sweepAt(`at=${at}&at=${at}&dryRun=true`)).status).toBe(400);
    expect((await sweepAt("at=tomorrow&dryRun=true")).status).toBe(400);
    const whatIf = await sweepAt(`at=${encodeURIComponent(at)}&dryRun=true`);
    expect(whatIf.status).toBe(200);
    expect(whatIf.body).toMatchObject({ at, dryRun: true, due: 1, sent: 0, removedSuperseded: 0, removedOrphans: 0 });
    expect(reminderMessages()).toHaveLength(0);
    expect(await stack.bot.repo.listReminders(secret.keyId)).toHaveLength(0);
    // The real threshold is still sent when its time comes.
    clock.t = Date.parse(secret.endDateTime!) - 59 * DAY;
    expect((await sweepNow()).body).toMatchObject({ due: 1, sent: 1 });
  });

  it("the sweep removes a syncbot: secret no run or registration claims once it is an hour old, and keeps UMP's", async () => {
    const { app, secret } = await provision();
    const orphan = stack.graph.addPasswordByHand(app.id, {
      displayName: "syncbot:ump:0f6a3c2e-4b1d-4e8f-9a7b-2c5d8e1f3a4b",
      endDateTime: new Date(Date.now() + 300 * DAY).toISOString(),
    });
    const live = () => stack.graph.applications()[0]!.passwordCredentials.map((p) => p.keyId);
    clock.t = Date.now() + 30 * 60_000; // half an hour: a run may still be about to record it
    expect((await sweepNow()).body).toMatchObject({ removedOrphans: 0, failures: [] });
    expect(live()).toContain(orphan.keyId);
    clock.t = Date.now() + 61 * 60_000;
    expect((await sweepNow()).body).toMatchObject({ removedOrphans: 1, failures: [] });
    expect(live()).toEqual([secret.keyId]);
    // UMP still holds the provisioned secret, which stays.
    expect(stack.ump.settings("ump-contoso").syncApp.clientSecret.fingerprint).toBe(
      (await stack.bot.repo.getRegistration("contoso"))!.secrets[0]!.fingerprint,
    );
    const audit = await stack.bot.repo.listAudit("contoso", { limit: 50 });
    expect(
      audit.events.some((e) => e.action === "secret.removed" && e.detail?.startsWith(`${orphan.keyId} (orphan`)),
    ).toBe(true);
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  });

  it("no reminder, card or log line carries the secret value", async () => {
    const { app, secret } = await provision();
    clock.t = Date.parse(secret.endDateTime!) + DAY;
    await sweepNow();
    expect(reminderMessages()).toHaveLength(1);
    const fp = stack.graph.secretFingerprint(app.id, secret.keyId);
    for (const c of new Set(stack.everything().match(/[A-Za-z0-9~._-]{30,64}/g) ?? []))
      expect(secretFingerprint(c)).not.toBe(fp);
  });
});
