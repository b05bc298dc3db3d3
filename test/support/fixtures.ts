// Hand-built domain values shared by the unit tests: one customer's parameters, a fixed instant, and
// the plan a fresh customer gets.

import { planProvisioning } from "../../src/domain/plan";
import { buildSpec, type ProvisionParameters } from "../../src/domain/spec";

export const NOW = new Date("2025-03-01T12:00:00.000Z");

export const PARAMS: ProvisionParameters = {
  customer: "contoso",
  appName: "umptoken",
  serviceProviderFqdn: "ump.example.com",
  displayName: "Contoso UMP Sync",
  umpInstance: "ump-01",
  secretLifetimeMonths: 24,
};

/** The plan for a customer with no registration and no UMP read. */
export function freshPlan() {
  return planProvisioning(
    buildSpec(PARAMS),
    { app: null, ump: null, recorded: [] },
    { kind: "provision", umpApi: true, now: NOW },
  );
}
