// Step: ensure the application's service principal (enterprise application) in SP_TENANT_ID. Graph
// creates none with the application, and without one the token endpoint refuses the new secret
// (AADSTS7000229). Resume rule: re-read by appId, create if absent. It needs only the upserted
// application's appId, so it runs side by side with the new secret (stepLists.ts).

import { SyncbotError } from "../errors";
import type { ServicePrincipalInfo } from "../ports";
import { type Attempt, stepWaitDeps, waitForReplication } from "./replicationWait";
import type { ProvisioningStep, StepContext } from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const servicePrincipal: ProvisioningStep = {
  name: "servicePrincipal",
  title: STEP_TITLES.servicePrincipal,
  async run(ctx) {
    const { services: s, request, run, call } = ctx;
    // The first step re-planned from live state (the SP included), so a plan without this change
    // found the service principal there.
    if (!request.plan.changes.some((c) => c.kind === "sp.create"))
      return { status: "skipped", detail: "already exists" };
    const appId = run.appId!;
    const justCreated = request.plan.changes.some((c) => c.kind === "app.create");
    // A first attempt for an app this run just created cannot find one; any other attempt reads first.
    if (ctx.resumed || !justCreated) {
      const found = await s.directory.getServicePrincipal(appId, call);
      if (found) return done(found, "already exists");
    }
    const sp = await create(ctx, appId, justCreated);
    await s.audit(request, "syncbot", "servicePrincipal.created", "ok", `${sp.id} for app ${appId}`);
    return done(sp, `created ${sp.id}`);
  },
};

function done(sp: ServicePrincipalInfo, detail: string) {
  return { status: "done" as const, detail, patch: { servicePrincipalId: sp.id } };
}

/**
 * Creates it, waiting out replication for an application this run created: Graph answers 400 ("does
 * not reference a valid application object") until the new appId has replicated, and a service
 * principal created meanwhile (409, by us in an attempt whose answer was lost, or by someone) may be
 * unreadable by appId (404) for a while too. Anything else, or the budget spent, fails the step.
 */
async function create(ctx: StepContext, appId: string, justCreated: boolean): Promise<ServicePrincipalInfo> {
  const { services: s, spec, call } = ctx;
  const result = await waitForReplication(
    s.options.replication,
    stepWaitDeps(ctx),
    async (): Promise<Attempt<ServicePrincipalInfo>> => {
      try {
        await ctx.fence();
        return { done: true, value: await s.directory.createServicePrincipal(appId, spec.tags, call) };
      } catch (e) {
        if (!(e instanceof SyncbotError)) throw e;
        if (e.status === 409) {
          const found = await s.directory.getServicePrincipal(appId, call);
          if (found) return { done: true, value: found };
          // It exists (409) but the replica read by appId does not show it yet.
          if (justCreated) return { done: false, reason: "the new service principal is not readable yet" };
        }
        if (justCreated && (e.status === 400 || e.status === 404))
          return { done: false, reason: "Graph does not know the new application's appId yet" };
        throw e;
      }
    },
  );
  if (result.ok) return result.value;
  throw new SyncbotError(
    "upstream_failed",
    `Entra had not replicated the new application after ${Math.round(result.elapsedMs / 1000)} s (${result.reason})`,
    {
      hint: "Entra is eventually consistent and usually catches up within seconds: provision the customer again (the next run finds the application and creates only what is missing), or raise ENTRA_REPLICATION_WAIT_SECONDS",
    },
  );
}
