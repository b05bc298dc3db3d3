// Step: create the Entra app registration, or bring its managed fields to the spec. The first step
// also re-plans from live state: the approval covers exactly the plan it was given for (invariant 2).

import { SyncbotError } from "../errors";
import { readLiveState } from "../liveState";
import { applicationDiff, desiredApplicationFields, planCovers, planProvisioning } from "../plan";
import type { ProvisioningStep } from "./stepContext";

export const upsertApplication: ProvisioningStep = {
  name: "upsertApplication",
  title: "Entra app registration",
  async run(ctx) {
    const { services: s, spec, request, run, call } = ctx;
    const { live, ump } = await readLiveState(
      { directory: s.directory, ump: s.ump, repo: s.repo, umpTarget: s.options.umpTarget },
      spec,
      call,
    );
    if (ump) s.reads(run.id).ump = ump;
    const fresh = run.steps.every((st) => st.status === "pending" || st.name === "upsertApplication");
    if (fresh && !run.objectId) {
      const now = planProvisioning(spec, live, {
        kind: request.kind,
        service: request.service,
        umpApi: s.options.umpTarget === "api",
        now: s.clock.now(),
      });
      // A resumed upsert finds its own half-done work (the app it created, the fields it set): it may
      // finish what the approved plan contains, nothing more.
      if (now.hash !== request.plan.hash && !(ctx.interrupted && planCovers(request.plan, now)))
        throw new SyncbotError(
          "plan_changed",
          "The registration or UMP changed since this plan was approved, so nothing was applied. Press Review plan again for a new plan and approval.",
        );
    }
    if (!live.app) {
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
  },
};
