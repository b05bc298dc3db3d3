// Teams shows the presser an error when an invoke is not answered within a few seconds, and Graph or
// UMP may make syncbot wait for minutes (throttling, Retry-After). A button's work races a budget: in
// time, its own answer goes back; otherwise the presser gets `pending` now, the work finishes in the
// background (it updates the shared card itself) and `onLate` gets its answer.

import { describeError } from "../domain/errors";
import type { Logger } from "../domain/ports";
import type { InvokeAnswer } from "./botKit";

/** Well under the 2 s every invoke must be answered in, leaving room for the HTTP round trip. */
export const INVOKE_BUDGET_MS = 1200;

export const FAILED_ANSWER = "That did not work on syncbot's side; nothing was changed. The logs have the details.";

export async function answerInTime(
  log: Logger,
  work: Promise<InvokeAnswer>,
  pending: InvokeAnswer,
  onLate?: (answer: InvokeAnswer) => Promise<void>,
  budgetMs = INVOKE_BUDGET_MS,
): Promise<InvokeAnswer> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const deadline = new Promise<typeof pending>((resolve) => {
    timer = setTimeout(() => {
      late = true;
      resolve(pending);
    }, budgetMs);
  });
  const settled = work
    .catch((e) => {
      log.error("button work failed", { error: describeError(e).message });
      return FAILED_ANSWER;
    })
    .then(async (answer) => {
      if (late && onLate)
        await onLate(answer).catch((e) => log.warn("late answer not shown", { error: describeError(e).message }));
      return answer;
    });
  const first = await Promise.race([settled, deadline]);
  clearTimeout(timer);
  if (late) log.info("button answered before its work finished", { budgetMs });
  return first;
}
