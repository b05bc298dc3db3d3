// Step: create the Entra app registration, or bring its managed fields to the spec. The first step
// also re-plans from live state: the approval covers exactly the plan it was given for (invariant 2).
// A plan that creates the app creates it unread, with a request Graph refuses when the name is taken.

import { SyncbotError } from "../errors";
import { readLiveState } from "../liveState";
import { applicationDiff, desiredApplicationFields, type LiveState, planCovers, planProvisioning } from "../plan";
import type { StepOutcome } from "../runs/step";
import type { ProvisioningStep, StepContext } from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const upsertApplication: ProvisioningStep = {
  name: "upsertApplication",
  title: STEP_TITLES.upsertApplication,
  async run(ctx) {
    // Review plan saw no application and nothing of this run has been written yet: POST /applications
    // either creates it or is refused because the name is taken, so the run does not read it first.
    if (untouched(ctx) && ctx.request.plan.changes.some((c) => c.kind === "app.create")) {
      const outcome = await createUnread(ctx);
      if (outcome !== "taken" && outcome !== "ambiguous") return outcome;
      return readAndApply(ctx, outcome);
    }
    return readAndApply(ctx, null);
  },
};

/** The run's first attempt at its first step (not a resume): the live state is the plan's to judge. */
function untouched(ctx: StepContext): boolean {
  const { run } = ctx;
  return (
    !ctx.interrupted &&
    !run.objectId &&
    run.steps.every((st) => st.status === "pending" || st.name === "upsertApplication")
  );
}

async function createUnread(ctx: StepContext): Promise<StepOutcome | "taken" | "ambiguous"> {
  const { services: s, spec, run, call } = ctx;
  // UMP and syncbot's records are read as always; the application is the one Review plan saw: none.
  const { live, ump } = await readLiveState(liveDeps(ctx), spec, call, { assumeNoApplication: true });
  if (ump) s.reads(run.id).ump = ump;
  checkPlan(ctx, live, false);
  await ctx.fence();
  const answer = await s.directory.createApplication(spec.uniqueName, desiredApplicationFields(spec, null), call);
  if (!answer.created) return answer.ambiguous ? "ambiguous" : "taken";
  const app = answer.application;
  return { status: "done", detail: `created app ${app.appId}`, patch: { objectId: app.id, appId: app.appId } };
}

/**
 * Reads the application by its stable key and applies what the spec still needs. After a refused
 * create (`taken`) the application someone else made is judged by the plan hash, as any change is;
 * after `ambiguous` (our own unanswered create may have made it) as a resume is.
 */
async function readAndApply(ctx: StepContext, afterCreate: "taken" | "ambiguous" | null): Promise<StepOutcome> {
  const { services: s, spec, run, call } = ctx;
  const { live, ump } = await readLiveState(liveDeps(ctx), spec, call);
  if (ump) s.reads(run.id).ump = ump;
  const fresh = run.steps.every((st) => st.status === "pending" || st.name === "upsertApplication");
  // A resumed upsert finds its own half-done work (the app it created, the fields it set): it may
  // finish what the approved plan contains, nothing more.
  if (fresh && !run.objectId) checkPlan(ctx, live, ctx.interrupted || afterCreate === "ambiguous");
  if (!live.app) {
    if (afterCreate)
      throw new SyncbotError(
        "upstream_rejected",
        `Entra refused the name "${spec.uniqueName}" as taken, yet no application by that name can be read: a deleted application still holds it. Restore it or delete it permanently (Entra admin center, App registrations, Deleted applications), then press Review plan again.`,
      );
    await ctx.fence();
    const created = await s.directory.upsertApplication(spec.uniqueName, desiredApplicationFields(spec, null), call);
    const app = created.application ?? (await s.directory.getApplicationByUniqueName(spec.uniqueName, call));
    if (!app) throw new SyncbotError("upstream_failed", "Graph created the application but does not return it yet.");
    return { status: "done", detail: `created app ${app.appId}`, patch: { objectId: app.id, appId: app.appId } };
  }
  const diff = applicationDiff(spec, live.app);
  if (diff.length > 0) {
    await ctx.fence();
    await s.directory.upsertApplication(spec.uniqueName, desiredApplicationFields(spec, live.app), call);
    return {
      status: "done",
      detail: `updated ${diff.map((d) => d.field).join(", ")}`,
      patch: { objectId: live.app.id, appId: live.app.appId },
    };
  }
  return { status: "done", detail: "already matches", patch: { objectId: live.app.id, appId: live.app.appId } };
}

const liveDeps = ({ services: s }: StepContext) => ({
  directory: s.directory,
  ump: s.ump,
  repo: s.repo,
  umpTarget: s.options.umpTarget,
});

/** Invariant 2: the plan from live state must be the approved one (or, on a resume, within it). */
function checkPlan(ctx: StepContext, live: LiveState, resuming: boolean): void {
  const { services: s, spec, request } = ctx;
  const now = planProvisioning(spec, live, {
    kind: request.kind,
    service: request.service,
    umpApi: s.options.umpTarget === "api",
    now: s.clock.now(),
  });
  if (now.hash !== request.plan.hash && !(resuming && planCovers(request.plan, now)))
    throw new SyncbotError(
      "plan_changed",
      "The registration or UMP changed since this plan was approved, so nothing was applied. Press Review plan again for a new plan and approval.",
    );
}
