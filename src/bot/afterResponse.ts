// Work that must start only once the HTTP answer to Teams is sent (a run after Approve, a slow read):
// a turn queues it here, and createTeamsBot's process() runs the queue after adapter.process resolves.

import type { TurnContext } from "botbuilder";

const AFTER_RESPONSE = Symbol("afterResponse");

export function afterResponse(context: TurnContext, job: () => void): void {
  const jobs = context.turnState.get(AFTER_RESPONSE) as Array<() => void> | undefined;
  if (jobs) jobs.push(job);
  else setImmediate(job);
}

/** Called at the start of a turn with the list process() runs after the answer. */
export function collectAfterResponse(context: TurnContext, jobs: Array<() => void>): void {
  context.turnState.set(AFTER_RESPONSE, jobs);
}
