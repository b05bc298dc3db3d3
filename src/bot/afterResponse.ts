// Work that must start only once the HTTP answer to Teams is sent (a run after Approve, the live reads
// of Review plan): a turn queues it here, and createTeamsBot's process() flushes the queue after
// adapter.process resolves. Work queued after the flush (a late answer) starts at once.

import type { TurnContext } from "botbuilder";

const AFTER_RESPONSE = Symbol("afterResponse");

export interface AfterResponseQueue {
  jobs: Array<() => void>;
  flushed: boolean;
}

export function afterResponse(context: TurnContext, job: () => void): void {
  const queue = context.turnState.get(AFTER_RESPONSE) as AfterResponseQueue | undefined;
  if (queue && !queue.flushed) queue.jobs.push(job);
  else setImmediate(job);
}

/** Called at the start of a turn with the queue process() flushes after the answer. */
export function collectAfterResponse(context: TurnContext, queue: AfterResponseQueue): void {
  context.turnState.set(AFTER_RESPONSE, queue);
}

export function flushAfterResponse(queue: AfterResponseQueue): void {
  queue.flushed = true;
  for (const job of queue.jobs.splice(0)) job();
}
