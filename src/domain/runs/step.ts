// The one shape every step of a run has, and what the run engine hands a step. The engine knows only
// this shape; what a step does (Graph, UMP, hand-off) lives in src/domain/steps/.

import type { CallContext } from "../ports";
import type { RequestRecord, RunRecord, StepName } from "../records";

export interface StepOutcome {
  status: "done" | "skipped" | "running";
  detail?: string;
  /** Fields of the run record this step learned (object id, new secret, UMP revision, ...). */
  patch?: Partial<RunRecord>;
  /** The run waits for someone (hand-off): stop here, stay `running`. */
  pause?: boolean;
}

export interface RunContext {
  /** The request as stored when the step starts; `run` is `request.run`. */
  request: RequestRecord;
  run: RunRecord;
  /** Correlation id plus retry notes that the engine shows on the card. */
  call: CallContext;
  /** This step was running when its process stopped (crash): it resumes under its resume rules. */
  interrupted: boolean;
  /** Some step of this run started before this execution (a resumed run). */
  resumed: boolean;
  /** Throws when this execution no longer owns the run: call it before every upstream write. */
  fence(): Promise<void>;
}

export interface Step<Ctx extends RunContext = RunContext> {
  name: StepName;
  /** What the card calls the step. */
  title: string;
  run(ctx: Ctx): Promise<StepOutcome>;
  /**
   * For a step already done when a run resumes: "redo" when its effect was lost with the previous
   * process (it has reset itself to pending and undone what it left), else "keep".
   */
  resume?(ctx: Ctx): Promise<"keep" | "redo">;
  /** A `running` step that waits for a person (not interrupted): the engine stops without running it. */
  awaiting?(request: RequestRecord): boolean;
  /** Undo what this completed step left when a later step (or itself) failed; called in reverse order. */
  compensate?(ctx: Ctx, failed: StepName): Promise<void>;
}

/**
 * A run's steps in order. An entry that is a list is one stage whose steps run side by side: each needs
 * only what the stages before it left, never what its neighbours do. The engine waits for the whole
 * stage before the next, records each step on its own and resumes each under its own rules.
 */
export type StepStages<S> = ReadonlyArray<S | ReadonlyArray<S>>;

/** The steps of a staged list in order (neighbours in a stage in their listed order). */
export function flatSteps<S>(stages: StepStages<S>): S[] {
  return stages.flatMap((st) => (Array.isArray(st) ? [...(st as ReadonlyArray<S>)] : [st as S]));
}
