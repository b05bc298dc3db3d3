// What is there now: the Entra application, UMP's settings (in api mode) and syncbot's records, read
// side by side. Review, the drift check and the first step of a run plan from it.

import type { LiveState } from "./plan";
import type { CallContext, FullDirectory, UmpSettings, UmpSettingsApi } from "./ports";
import type { Repository } from "./repository";
import type { Spec } from "./spec";

export interface LiveStateDeps {
  directory: FullDirectory;
  ump: UmpSettingsApi | null;
  repo: Repository;
  umpTarget: "api" | "handoff";
}

/** The live state, and UMP's settings with their ETag when they were read. */
export async function readLiveState(
  deps: LiveStateDeps,
  spec: Spec,
  ctx: CallContext,
  /** `assumeNoApplication`: the caller will create the app in a request Graph refuses if it exists (no read). */
  options: { assumeNoApplication?: boolean } = {},
): Promise<{ live: LiveState; ump: { settings: UmpSettings; etag: string } | null }> {
  const [app, umpRead, registration] = await Promise.all([
    options.assumeNoApplication ? null : deps.directory.getApplicationByUniqueName(spec.uniqueName, ctx),
    deps.ump && deps.umpTarget === "api" ? deps.ump.getSettings(spec.umpInstance, ctx) : Promise.resolve(null),
    deps.repo.getRegistration(spec.customer),
  ]);
  // The service principal is found by the app's appId, so it is read once the app is known.
  const servicePrincipal = app ? await deps.directory.getServicePrincipal(app.appId, ctx) : undefined;
  return {
    live: { app, servicePrincipal, ump: umpRead?.settings ?? null, recorded: registration?.secrets ?? [] },
    ump: umpRead,
  };
}
