// When a step fails, the steps that completed undo what they left (last first), so a failed run
// leaves nothing half-done behind. A compensation that fails itself is logged, never thrown; one that
// cannot decide (UMP unreadable, so it keeps a secret UMP may hold) says so, and the run needs attention.

import { describeError, isSyncbotError } from "../errors";
import type { Logger } from "../ports";
import type { RequestRecord, StepName } from "../records";
import type { Repository } from "../repository";
import type { RunContext, Step } from "./step";

/** Resolves the reason the run cannot be settled now, or null when every compensation decided. */
export async function compensateCompleted<Ctx extends RunContext>(
  steps: ReadonlyArray<Step<Ctx>>,
  request: RequestRecord,
  failed: StepName,
  deps: { repo: Repository; logger: Logger; contextFor: (base: RunContext) => Ctx },
): Promise<string | null> {
  const done = new Set(request.run!.steps.filter((s) => s.status === "done").map((s) => s.name));
  let unsettled: string | null = null;
  for (const step of [...steps].reverse()) {
    if (!step.compensate || !(done.has(step.name) || step.name === failed)) continue;
    const current = (await deps.repo.getRequest(request.id))!;
    try {
      await step.compensate(
        deps.contextFor({
          request: current,
          run: current.run!,
          call: { correlationId: current.correlationId },
          interrupted: false,
          resumed: false,
          // Compensation only removes what this run added; it runs after the run's own failure.
          fence: async () => undefined,
        }),
        failed,
      );
    } catch (e) {
      const d = describeError(e);
      if (isSyncbotError(e, "outcome_unknown")) unsettled = d.message;
      else deps.logger.error("compensation failed", { requestId: request.id, step: step.name, error: d.message });
    }
  }
  return unsettled;
}
