// Step: ensure the application's service principal (enterprise application) in SP_TENANT_ID. Graph
// creates none with the application, and without one the token endpoint refuses the new secret
// (AADSTS7000229). Resume rule: re-read by appId, create if absent.

import { SyncbotError } from "../errors";
import type { ServicePrincipalInfo } from "../ports";
import type { ProvisioningStep, StepContext } from "./stepContext";

// Right after the application's create, Graph may not know its appId yet (replication): a bounded retry.
const ATTEMPTS = 5;
const FIRST_WAIT_MS = 500;

export const servicePrincipal: ProvisioningStep = {
  name: "servicePrincipal",
  title: "Service principal",
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

async function create(ctx: StepContext, appId: string, justCreated: boolean): Promise<ServicePrincipalInfo> {
  const { services: s, spec, call } = ctx;
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.fence();
      return await s.directory.createServicePrincipal(appId, spec.tags, call);
    } catch (e) {
      if (!(e instanceof SyncbotError)) throw e;
      // Someone (or an attempt whose answer was lost) created it meanwhile: read it back.
      if (e.status === 409) {
        const found = await s.directory.getServicePrincipal(appId, call);
        if (found) return found;
      }
      const lagging = justCreated && (e.status === 400 || e.status === 404);
      if (!lagging || attempt >= ATTEMPTS) throw e;
      await s.sleep(FIRST_WAIT_MS * 2 ** (attempt - 1));
    }
  }
}
