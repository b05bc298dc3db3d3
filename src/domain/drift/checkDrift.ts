// The `check` command's report: every way a managed customer's registration and UMP differ from the
// spec, in operator words. Reads only, except that a run waiting for attention is settled first.

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
  /** Reads UMP again for the customer's runs that need attention and lets them finish (run engine). */
  settle?: (customer: string) => Promise<unknown>;
}

/** Null when syncbot manages no registration for that customer. */
export async function checkDrift(deps: DriftDeps, customer: string, ctx: CallContext = {}) {
  if (!(await deps.repo.getRegistration(customer))) return null;
  // A run waiting for attention is settled first: its outcome decides what the registration should be.
  await deps.settle?.(customer);
  const registration = (await deps.repo.getRegistration(customer))!;
  const spec = buildSpec(registration.params);
  const { live } = await readLiveState(deps, spec, ctx);
  const differences: string[] = [];
  const attention = registration.attention;
  if (attention)
    differences.push(
      `NEEDS ATTENTION: run of request ${attention.requestId.slice(0, 8)} (${attention.step}) since ${attention.since.slice(0, 16).replace("T", " ")} UTC: ${attention.reason}`,
    );
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
