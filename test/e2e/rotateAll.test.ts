// Rotate all from a reminder digest (issue 17): 20 registrations due in one channel, one digest, Rotate
// all pressed there: one batch rotation card with the combined plan and one Approve under the batch
// approver rules. One customer's addPassword fails in Graph, one customer's UMP write is ambiguous (UMP
// applied it, the answer was lost), and the bot restarts mid-batch; Retry on the failed line finishes it.
// Every registration ends with UMP holding a live Entra secret, no orphan, the audit naming the approver.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cardText, expectNoSecretIn, findAction, JOBS_KEY, type Stack, startStack, USERS } from "../support/stack";

const COUNT = 20;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    umpInstances: [],
    env: { BATCH_CONCURRENCY: "3" },
    overrides: { batchCardIntervalMs: 100 },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const title = (card: any) => String(card?.body?.[0]?.text ?? "");
const progress = (card: any) => cardText(card).match(/(\d+) done · (\d+) running · (\d+) failed · (\d+) waiting/);

async function waitFor(pred: () => Promise<boolean> | boolean, ms: number) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Invariants 5 and 9 for one customer: every live secret recorded, UMP holds a live one, the only active one. */
async function expectUmpHoldsLiveSecret(customer: string, oldKeyId: string) {
  const app = stack.graph.applications().find((a) => a.uniqueName === `syncbot-${customer}`)!;
  const live = app.passwordCredentials.map((p) => p.keyId).sort();
  const reg = (await stack.bot.repo.getRegistration(customer))!;
  expect(reg.secrets.map((s) => s.keyId).sort(), `${customer}: no orphan`).toEqual(live);
  const umpFp = stack.ump.settings(`ump-${customer}`).syncApp.clientSecret.fingerprint;
  const held = live.filter((k) => stack.graph.secretFingerprint(app.id, k) === umpFp);
  expect(held, `${customer}: UMP holds a live Entra secret`).toHaveLength(1);
  expect(held[0], `${customer}: rotated`).not.toBe(oldKeyId);
  expect(reg.secrets.filter((s) => s.status === "active").map((s) => s.keyId)).toEqual(held);
}

describe("Rotate all", () => {
  it("rotates 20 due registrations as one approved batch through a Graph failure, an ambiguous UMP write and a restart", async () => {
    const now = Date.now();
    const seeded = await stack.seedRegistrations(COUNT, {
      endDateTime: (i) => new Date(now + 20 * 86_400_000 + i * 60_000).toISOString(),
    });
    const sweep = await fetch(`${stack.url}/api/jobs/expiry-sweep`, {
      method: "POST",
      headers: { "x-jobs-key": JOBS_KEY },
    });
    expect(await sweep.json()).toMatchObject({ due: COUNT, sent: COUNT });
    const digest = stack.lastCardMessage();
    expect(title(digest.card)).toBe(`${COUNT} secrets in this conversation need attention`);

    const pressed = await stack.press(digest.activityId, "Rotate all", { user: USERS.requester });
    expect(pressed.text).toMatch(/Preparing one rotation plan for the 20 secrets/);
    const posted = await stack.connector.waitFor((cur) =>
      cur.find((a) => /^Rotate all: 20 secrets/.test(title(a.activity?.attachments?.[0]?.content))),
    );
    const activityId = posted.activityId;
    const planned = await stack.waitForCard(activityId, (c) => /waiting for approval/.test(title(c)), 60_000);
    expect(title(planned)).toBe("Rotate all: 20 secrets: waiting for approval");
    expect(cardText(planned)).toContain("add client secret × 20");
    expect(cardText(planned)).toMatch(/update app field × \d+/);
    expect(cardText(planned)).toContain("write UMP sync app × 20");
    expect(planned.actions.map((a: any) => a.title)).toEqual(["Approve", "Reject"]);
    // Nothing written before the approval; the requester cannot approve it.
    expect(stack.graph.writes()).toHaveLength(0);
    const self = await stack.press(activityId, "Approve", { user: USERS.requester });
    expect(cardText(self.card)).toMatch(/cannot approve it too/);
    expect(stack.graph.writes()).toHaveLength(0);

    const failing = seeded[6]!;
    const ambiguous = seeded[11]!;
    // Refused at the run's first write (the app's fields), so a retry plans exactly what was approved.
    // (Graph addresses the app by its uniqueName or its object id.)
    for (const key of [`syncbot-${failing.customer}'`, failing.objectId])
      stack.graph.injectFault({ status: 403, count: 50, match: { method: "PATCH", pathIncludes: key } });
    stack.ump.injectFault({
      status: 502,
      phase: "after",
      count: 1,
      match: { method: "PATCH", pathIncludes: `ump-${ambiguous.customer}/system-settings/sync-app` },
    });
    const approved = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(approved.status).toBe(200);
    expect(title(approved.card)).toBe("Rotate all: 20 secrets: approved");

    // Restart mid-batch: some rotations done, others running or waiting.
    const succeeded = async () => (await stack.bot.repo.listRequests()).filter((r) => r.state === "succeeded");
    await waitFor(async () => (await succeeded()).length >= 5, 90_000);
    expect((await stack.bot.repo.listRequests()).some((r) => r.batchId && r.state === "planned")).toBe(true);
    const restartedAt = Date.now();
    await stack.restart();
    const finished = await stack.waitForCard(
      activityId,
      (c) => {
        const m = progress(c);
        return !!m && Number(m[1]) + Number(m[3]) === COUNT && m[2] === "0" && m[4] === "0";
      },
      120_000,
    );
    expect(progress(finished)?.slice(1)).toEqual(["19", "0", "1", "0"]);
    expect(cardText(finished)).toContain(`**${failing.customer}**: failed at upsertApplication`);
    // The ambiguous write was answered 502 after UMP applied it.
    expect(stack.ump.requests.some((r) => r.method === "PATCH" && r.status === 502)).toBe(true);

    stack.graph.clearFaults();
    const retry = await stack.press(activityId, "Retry", { user: USERS.bystander });
    expect(retry.status).toBe(200);
    await stack.waitForCard(activityId, (c) => progress(c)?.[1] === String(COUNT), 60_000);

    for (const s of seeded) {
      await expectUmpHoldsLiveSecret(s.customer, s.keyId);
      const events = (await stack.bot.repo.listAudit(s.customer, { limit: 500 })).events;
      expect(
        events.filter((e) => e.action === "run.succeeded"),
        s.customer,
      ).toHaveLength(1);
      expect(
        events.some((e) => e.action === "approval.approved" && e.actor === USERS.approver.name),
        `${s.customer}: the audit names the approver`,
      ).toBe(true);
      expect(events.some((e) => e.action === "batch.approved" && e.actor === USERS.approver.name)).toBe(true);
    }
    expect(findAction(stack.cardOf(activityId), "Approve")).toBeUndefined();
    // Posts and card updates went through the outbound queue: no 429 after the first (invariant 14), per
    // process (the process started by the restart cannot know what its predecessor's budget was).
    const throttled = stack.connector.throttled;
    expect(throttled.filter((t) => t.at < restartedAt).length, JSON.stringify(throttled)).toBeLessThanOrEqual(1);
    expect(throttled.filter((t) => t.at >= restartedAt).length, JSON.stringify(throttled)).toBeLessThanOrEqual(1);
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  }, 300_000);
});
