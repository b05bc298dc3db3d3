// The `check` command's report: every way a managed customer's registration and UMP differ from the
// spec, in operator words. Reads only.

import { readLiveState } from "../liveState";
import { applicationDiff, describeChange, planProvisioning } from "../plan";
import type { CallContext, Clock, FullDirectory, UmpSettingsApi } from "../ports";
import type { Repository } from "../repository";
import { buildSpec } from "../spec";

export interface DriftDeps {
  directory: FullDirectory;
  ump: UmpSettingsApi | null;
  repo: Repository;
  clock: Clock;
  umpTarget: "api" | "handoff";
}

/** Null when syncbot manages no registration for that customer. */
export async function checkDrift(deps: DriftDeps, customer: string, ctx: CallContext = {}) {
  const registration = await deps.repo.getRegistration(customer);
  if (!registration) return null;
  const spec = buildSpec(registration.params);
  const { live } = await readLiveState(deps, spec, ctx);
  const differences: string[] = [];
  if (!live.app) differences.push("Entra: the application no longer exists");
  else
    for (const d of applicationDiff(spec, live.app))
      differences.push(`Entra ${d.field}: is ${d.from}, should be ${d.to}`);
  const plan = planProvisioning(spec, live, {
    kind: "provision",
    umpApi: deps.umpTarget === "api",
    now: deps.clock.now(),
  });
  for (const c of plan.changes)
    if (c.kind !== "app.update" && c.kind !== "app.create") differences.push(describeChange(c));
  return { params: registration.params, differences };
}
