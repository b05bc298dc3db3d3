// Keeps a batch's shared card in step (issue 13): renders it from the stored batch and its members'
// requests, and sends updateActivity at most once per interval per batch (a 200-customer batch changes
// thousands of times; Teams needs a few updates, the newest state always last). A decision (approve,
// reject, retry) goes out without waiting for the interval.

import type { Batches } from "../domain/batches/createBatches";
import { describeError } from "../domain/errors";
import type { Logger } from "../domain/ports";
import type { RequestRecord } from "../domain/records";
import type { Repository } from "../domain/repository";
import { batchCard } from "./cards/batchCard";
import type { Card } from "./cards/renderCard";
import type { Messenger } from "./createMessenger";

export type BatchCards = ReturnType<typeof createBatchCards>;

export function createBatchCards(deps: {
  batches: Pick<Batches, "get">;
  repo: Repository;
  messenger: Messenger;
  log: Logger;
  intervalMs: number;
  stepUpOff?: boolean;
}) {
  const { messenger, log } = deps;
  const state = new Map<
    string,
    { timer?: NodeJS.Timeout; sending?: Promise<void>; lastSent: number; dirty: boolean }
  >();

  async function render(batchId: string, notice?: string): Promise<Card> {
    const batch = await deps.batches.get(batchId);
    if (!batch) return batchCard({ batch: missing(batchId), requests: new Map(), notice: "This batch is unknown." });
    const requests = new Map<string, RequestRecord>();
    await Promise.all(
      batch.members
        .filter((m) => m.requestId)
        .map(async (m) => {
          const r = await deps.repo.getRequest(m.requestId!);
          if (r) requests.set(r.id, r);
        }),
    );
    return batchCard({ batch, requests, notice, stepUpOff: deps.stepUpOff });
  }

  function changed(batchId: string, opts: { immediate?: boolean } = {}) {
    const s = state.get(batchId) ?? { lastSent: 0, dirty: false };
    state.set(batchId, s);
    s.dirty = true;
    if (s.sending) return; // the send loop picks the newest state up when it finishes
    if (opts.immediate && s.timer) {
      clearTimeout(s.timer);
      s.timer = undefined;
    }
    if (s.timer) return;
    const wait = opts.immediate ? 0 : Math.max(0, s.lastSent + deps.intervalMs - Date.now());
    s.timer = setTimeout(() => {
      s.timer = undefined;
      s.sending = send(batchId, s).finally(() => {
        s.sending = undefined;
        if (s.dirty) changed(batchId);
        else state.delete(batchId);
      });
    }, wait);
    s.timer.unref?.();
  }

  async function send(batchId: string, s: { lastSent: number; dirty: boolean }) {
    s.dirty = false;
    s.lastSent = Date.now();
    try {
      const batch = await deps.batches.get(batchId);
      if (!batch?.cardActivityId) return;
      await messenger.updateCard(batch.conversation, batch.cardActivityId, await render(batchId));
    } catch (e) {
      log.warn("batch card update failed", { batchId, error: describeError(e).message });
    }
  }

  return { render, changed };
}

function missing(id: string) {
  return {
    id,
    state: "rejected" as const,
    requester: { id: "", name: "?" },
    tenantId: "",
    conversation: {},
    members: [],
    hash: "",
    createdAt: new Date(0).toISOString(),
    expiresAt: new Date(0).toISOString(),
    correlationId: "",
  };
}
