// Keeps a request's shared card in step with its state: every persisted change of a request (the
// domain's onChange) becomes an updateActivity of the card everyone in the conversation sees.
// Teams allows a conversation 60 operations per 30 s (createOutboundQueue.ts), and a run changes its
// request at every step: a card shows its step progress at most once per interval, newest state first,
// while decisions, "waiting for Graph/UMP, retry n of m" notices and the final state go out at once.
// Only while that message still shows this request (a requester's re-plan moves the message to the new one).

import { withCorrelationId } from "../correlationScope";
import { describeError } from "../domain/errors";
import { shows } from "../domain/messageBindings";
import type { Logger } from "../domain/ports";
import type { RequestRecord } from "../domain/records";
import type { ApprovalView } from "./cards/approvalCard";
import { approvalCard } from "./cards/approvalCard";
import type { Messenger } from "./createMessenger";

/** Least time between two step-progress updates of one card. */
export const CARD_PROGRESS_INTERVAL_MS = 1500;

interface CardQueue {
  states: RequestRecord[];
  lastSent: number;
  wake?: () => void;
}

export function createCardUpdates(deps: {
  messenger: Messenger;
  cardView: (request: RequestRecord) => ApprovalView;
  log: Logger;
  progressIntervalMs?: number;
}) {
  const { messenger, cardView, log } = deps;
  const interval = deps.progressIntervalMs ?? CARD_PROGRESS_INTERVAL_MS;
  // Card updates for one request go out one at a time and in order, so a slow update never overwrites
  // a newer state. States that arrive while one waits are coalesced (only the newest is sent), except
  // a waiting notice, which is always shown before what follows it; a newer notice replaces one still
  // queued (its wait is over), so a burst of retries (the token proof's) never piles up behind the card.
  const queues = new Map<string, CardQueue>();

  function onRequestChanged(request: RequestRecord) {
    if (!request.cardActivityId) return;
    const queue = queues.get(request.id);
    if (!queue) {
      const fresh: CardQueue = { states: [request], lastSent: 0 };
      queues.set(request.id, fresh);
      // The request's correlation id travels with the updates' Bot Connector calls (telemetry).
      void withCorrelationId(request.correlationId, () => drain(request.id, fresh));
      return;
    }
    const last = queue.states[queue.states.length - 1];
    if (last && (!last.run?.waiting || request.run?.waiting)) queue.states[queue.states.length - 1] = request;
    else queue.states.push(request);
    queue.wake?.();
  }

  /** Step progress may wait for the interval; anything a person decides or waits for may not. */
  const progressOnly = (r: RequestRecord) => r.state === "running" && !r.run?.waiting;

  async function drain(requestId: string, queue: CardQueue) {
    try {
      while (queue.states.length > 0) {
        const next = queue.states[0]!;
        const hold = queue.lastSent + interval - Date.now();
        if (hold > 0 && progressOnly(next)) {
          // Woken early by a newer state, which may be one that goes at once.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, hold);
            queue.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          queue.wake = undefined;
          continue;
        }
        queue.states.shift();
        queue.lastSent = Date.now();
        await showOnItsCard(next).catch((e) =>
          log.warn("card update failed", { requestId, error: describeError(e).message }),
        );
      }
    } finally {
      queues.delete(requestId);
    }
  }

  async function showOnItsCard(request: RequestRecord) {
    const conversationId = String((request.conversation.conversation as { id?: unknown } | undefined)?.id ?? "");
    const binding = await messenger.bindings.get(conversationId, request.cardActivityId!);
    if (!shows(binding, { kind: "approval", subject: request.id })) return;
    await messenger.updateCard(request.conversation, request.cardActivityId!, approvalCard(cardView(request)));
  }

  return { onRequestChanged };
}
