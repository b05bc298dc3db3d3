// A request's shared card under Teams' per-conversation limits (issue 17): step progress of a run goes
// out at most once per interval, newest state first; the final state, a decision and a "waiting for
// Graph, retry n of m" notice go out at once, so the last state a person waits for always arrives.

import { describe, expect, it } from "vitest";
import { createCardUpdates } from "../../src/bot/createCardUpdates";
import type { Messenger } from "../../src/bot/createMessenger";
import { createMessageBindings } from "../../src/domain/messageBindings";
import type { Logger } from "../../src/domain/ports";
import type { RequestRecord } from "../../src/domain/records";
import { freshPlan, PARAMS } from "../support/fixtures";
import { memoryStore } from "../support/memoryStore";

const log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log } as unknown as Logger;

function request(state: RequestRecord["state"], step: string, waiting?: string): RequestRecord {
  return {
    id: "req-1",
    customer: "contoso",
    kind: "provision",
    params: PARAMS,
    service: "ump",
    state,
    requester: { id: "aaaaaaaa-0000-0000-0000-000000000001", name: "Alice" },
    tenantId: "t",
    conversation: { conversation: { id: "19:ops@thread.tacv2" } } as never,
    cardActivityId: "card-1",
    plan: freshPlan(),
    createdAt: "2025-03-01T11:00:00.000Z",
    expiresAt: "2025-03-02T11:00:00.000Z",
    correlationId: "corr-1",
    run: {
      id: "run-1",
      startedAt: "2025-03-01T12:05:00.000Z",
      owner: "p",
      leaseUntil: "2025-03-01T12:05:00.000Z",
      steps: [{ name: step, status: "running" }],
      waiting,
    },
  } as unknown as RequestRecord;
}

function harness() {
  const sent: string[] = [];
  let release: (() => void) | undefined;
  // The card's message shows this request (its binding), as after a real post: updates are allowed.
  const bindings = createMessageBindings(memoryStore(), () => new Date());
  void bindings.bind("19:ops@thread.tacv2", "card-1", { kind: "approval", subject: "req-1" });
  const messenger = {
    bindings,
    updateCard: async (_ref: unknown, _id: string, card: unknown) => {
      sent.push(JSON.stringify(card));
      // The first update stays on the wire until released, so later states queue behind it.
      if (sent.length === 1) await new Promise<void>((r) => (release = r));
    },
  } as unknown as Messenger;
  const updates = createCardUpdates({
    messenger,
    cardView: (r) => ({ request: r, spTenantId: "t", allowSelfApproval: false }),
    log,
    // Far longer than the test: a held update would never arrive in time.
    progressIntervalMs: 60_000,
  });
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(pred()).toBe(true);
  };
  return { sent, updates, release: () => release?.(), until };
}

describe("card updates of a request", () => {
  it("holds step progress for the interval, but sends the final state at once (coalescing what it replaces)", async () => {
    const h = harness();
    h.updates.onRequestChanged(request("running", "upsertApplication"));
    await h.until(() => h.sent.length === 1);
    h.updates.onRequestChanged(request("running", "servicePrincipal"));
    h.updates.onRequestChanged(request("running", "addSecret"));
    h.release();
    // Progress waits for the interval...
    await new Promise((r) => setTimeout(r, 200));
    expect(h.sent).toHaveLength(1);
    // ...the end does not, and it replaces the progress that waited.
    h.updates.onRequestChanged(request("succeeded", "verify"));
    await h.until(() => h.sent.length === 2);
    expect(h.sent[1]).toContain("succeeded");
    await new Promise((r) => setTimeout(r, 100));
    expect(h.sent).toHaveLength(2);
  });

  it("sends a waiting notice at once and keeps it, then the newest state", async () => {
    const h = harness();
    h.updates.onRequestChanged(request("running", "addSecret"));
    await h.until(() => h.sent.length === 1);
    h.updates.onRequestChanged(request("running", "addSecret", "waiting for Graph, retry 2 of 5"));
    h.updates.onRequestChanged(request("failed", "addSecret"));
    h.release();
    await h.until(() => h.sent.length === 3);
    expect(h.sent[1]).toContain("retry 2 of 5");
    expect(h.sent[2]).toContain("failed");
  });

  it("a newer waiting notice replaces one still queued: a burst of retries does not hold the final state back", async () => {
    const h = harness();
    h.updates.onRequestChanged(request("running", "verify"));
    await h.until(() => h.sent.length === 1);
    for (let n = 1; n <= 30; n++)
      h.updates.onRequestChanged(request("running", "verify", `waiting for Entra, retry ${n} of 30`));
    h.updates.onRequestChanged(request("succeeded", "verify"));
    h.release();
    await h.until(() => h.sent.length === 3);
    expect(h.sent[1]).toContain("retry 30 of 30");
    expect(h.sent[2]).toContain("succeeded");
    await new Promise((r) => setTimeout(r, 100));
    expect(h.sent).toHaveLength(3);
  });
});
