// Keeps a request's shared card in step with its state: every persisted change of a request (the
// domain's onChange) becomes an updateActivity of the card everyone in the conversation sees, as long
// as that message still shows this request (a requester's re-plan moves the message to the new one).

import { describeError } from "../domain/errors";
import { shows } from "../domain/messageBindings";
import type { Logger } from "../domain/ports";
import type { RequestRecord } from "../domain/records";
import type { ApprovalView } from "./cards/approvalCard";
import { approvalCard } from "./cards/approvalCard";
import type { Messenger } from "./createMessenger";

export function createCardUpdates(deps: {
  messenger: Messenger;
  cardView: (request: RequestRecord) => ApprovalView;
  log: Logger;
}) {
  const { messenger, cardView, log } = deps;
  // Card updates for one request go out one at a time and in order, so a slow update never overwrites
  // a newer state. States that arrive while an update is in flight are coalesced (only the newest is
  // sent), except a "waiting for Graph/UMP, retry n of m" notice, which is always shown.
  const queues = new Map<string, RequestRecord[]>();

  function onRequestChanged(request: RequestRecord) {
    if (!request.cardActivityId) return;
    const queue = queues.get(request.id);
    if (!queue) {
      const fresh = [request];
      queues.set(request.id, fresh);
      void drain(request.id, fresh);
      return;
    }
    const last = queue[queue.length - 1];
    if (queue.length > 1 && last && !last.run?.waiting) queue[queue.length - 1] = request;
    else queue.push(request);
  }

  async function drain(requestId: string, queue: RequestRecord[]) {
    try {
      while (queue.length > 0) {
        const next = queue[0]!;
        await showOnItsCard(next).catch((e) =>
          log.warn("card update failed", { requestId, error: describeError(e).message }),
        );
        queue.shift();
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
