// Batch onboarding over HTTP (issue 13): `provision` with 20 customers, one invalid line, one customer
// failing in Graph, a restart mid-batch; each customer ends exactly once (one app, no orphan secret,
// one run.succeeded), the failed one is retried from the card without re-approving the others, and no
// secret value appears anywhere.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cardText, expectNoSecretIn, type Stack, startStack, USERS } from "../support/stack";
import { expectConsistent } from "../support/invariants";

const GOOD = Array.from({ length: 19 }, (_, i) => `c${String(i + 1).padStart(2, "0")}`);
const FAILING = "c07";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    umpInstances: GOOD.map((c) => `ump-${c}`),
    env: { BATCH_CONCURRENCY: "3" },
    overrides: { batchCardIntervalMs: 100 },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const title = (card: any) => String(card?.body?.[0]?.text ?? "");
const progress = (card: any) => cardText(card).match(/(\d+) done · (\d+) running · (\d+) failed · (\d+) waiting/);

describe("batch onboarding", () => {
  it("plans 20 lines, approves once, survives a restart, and retries the failed customer", async () => {
    await stack.say(`provision ${GOOD.slice(0, 10).join(" ")} Bad_Name! ${GOOD.slice(10).join(" ")}`);
    const { activityId, card: list } = stack.lastCardMessage();
    expect(JSON.stringify(list)).toContain('"isMultiline":true');

    const review = await stack.press(activityId, "Review plan");
    expect(review.status).toBe(200);
    const planned = await stack.waitForCard(activityId, (c) => /waiting for approval/.test(title(c)), 30_000);
    const text = cardText(planned);
    expect(title(planned)).toBe("Batch of 20 customers: waiting for approval");
    // The bad line carries its error; the 19 others are planned.
    expect(text).toMatch(/11\. \*\*bad_name!\*\*: customer: Use 1-40 lower-case/);
    expect(text).toContain("create app registration × 19");
    expect(text).toContain("19 customer(s) to change, 0 already up to date, 1 line(s) not planned.");

    // The requester cannot approve; a forged hash is refused; an eligible approver approves once.
    const self = await stack.press(activityId, "Approve", { user: USERS.requester });
    expect(cardText(self.card)).toMatch(/cannot approve it too/);
    const forged = await stack.press(activityId, "Approve", {
      user: USERS.approver,
      data: { batchId: findBatchId(planned), batchHash: "0".repeat(64) },
    });
    expect(cardText(forged.card)).toMatch(/different plan/);
    // A member cannot be approved alone, even with its own request id and hash.
    const member = (await stack.bot.repo.listRequests()).find((r) => r.customer === "c01")!;
    expect(member.batchId).toBeTruthy();
    expect(
      (await stack.bot.provisioning.approve(member.id, { id: USERS.approver.aadObjectId, name: "x" }, member.plan.hash))
        .ok,
    ).toBe(false);

    // The customer's app create is refused until the retry below: POST /applications (its uniqueName in
    // the body) and, should the restart interrupt that step, the resumed upsert by uniqueName.
    stack.graph.injectFault({
      status: 403,
      count: 20,
      match: { method: "POST", path: "/v1.0/applications", bodyIncludes: `"syncbot-${FAILING}"` },
    });
    stack.graph.injectFault({ status: 403, count: 20, match: { method: "PATCH", pathIncludes: `syncbot-${FAILING}` } });
    const approved = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(approved.status).toBe(200);
    expect(title(approved.card)).toBe("Batch of 20 customers: approved");

    // Never more than BATCH_CONCURRENCY runs at once.
    let maxRunning = 0;
    const watch = setInterval(async () => {
      const rs = await stack.bot.repo.listRequests().catch(() => []);
      maxRunning = Math.max(maxRunning, rs.filter((r) => r.state === "running" || r.state === "approved").length);
    }, 20);

    // Restart mid-batch: some customers done, others running or waiting.
    await waitFor(async () => (await succeeded()).length >= 5, 60_000);
    const atRestart = await stack.bot.repo.listRequests();
    expect(atRestart.filter((r) => r.batchId && r.state === "planned").length).toBeGreaterThan(0);
    await stack.restart();
    const finished = await stack.waitForCard(
      activityId,
      (c) => {
        const m = progress(c);
        return !!m && Number(m[1]) + Number(m[3]) === 19 && m[2] === "0" && m[4] === "0";
      },
      90_000,
    );
    clearInterval(watch);
    expect(maxRunning).toBeLessThanOrEqual(3);
    expect(progress(finished)?.slice(1)).toEqual(["18", "0", "1", "0"]);
    expect(cardText(finished)).toMatch(/\*\*c07\*\*: failed at upsertApplication/);
    expect(stack.graph.applications().filter((a) => a.uniqueName === `syncbot-${FAILING}`)).toHaveLength(0);

    // Retry from the card: the same plan as approved, so the batch approval covers it.
    stack.graph.clearFaults();
    const retry = await stack.press(activityId, "Retry", { user: USERS.bystander });
    expect(retry.status).toBe(200);
    const all = await stack.waitForCard(activityId, (c) => progress(c)?.[1] === "19", 60_000);
    expect(cardText(all)).toMatch(/\*\*c07\*\*: done · client id [0-9a-f-]{36}/);

    // Each customer ended exactly once: one app, no orphan secret, one successful run, a full audit.
    for (const c of GOOD) {
      await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo }, c);
      const events = (await stack.bot.repo.listAudit(c, { limit: 500 })).events.map((e) => e.action);
      expect(
        events.filter((a) => a === "run.succeeded"),
        c,
      ).toHaveLength(1);
      expect(events).toContain("batch.approved");
    }
    expect(stack.graph.applications().filter((a) => a.uniqueName?.startsWith("syncbot-"))).toHaveLength(19);
    for (const a of stack.connector.activities) expect(JSON.stringify(a.activity ?? {}).length).toBeLessThan(28_000);
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  }, 240_000);
});

function findBatchId(card: any): string {
  const m = JSON.stringify(card).match(/"batchId":"([0-9a-f-]{36})"/);
  if (!m) throw new Error("no batch id on the card");
  return m[1]!;
}

async function succeeded() {
  return (await stack.bot.repo.listRequests()).filter((r) => r.state === "succeeded");
}

async function waitFor(pred: () => Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
