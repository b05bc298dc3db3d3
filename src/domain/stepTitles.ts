// What a person reads for each step of a run: the approval card's step list and failure line, and each
// step's own `title`. One table in the domain, so the cards name steps without importing the steps
// themselves (and with them the run's Graph and UMP logic).

import type { StepName } from "./records";

export const STEP_TITLES: Readonly<Record<StepName, string>> = {
  upsertApplication: "Entra app registration",
  servicePrincipal: "Service principal",
  addSecret: "Client secret",
  writeUmp: "UMP sync-app settings",
  handoff: "Hand-off to operator",
  portalUrl: "UMP Authentication Portal URL",
  verify: "Verification",
  tidy: "Tidy old secrets",
};
