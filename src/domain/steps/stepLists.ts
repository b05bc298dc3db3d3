// The order of a run's steps for each UMP target. Adding a step: one file in this folder, one line here.
// The service principal and the new secret both need only the upserted application (its appId and
// object id), so they run side by side: the chain of round trips stays that of the secret alone.

import { addSecret } from "./addSecret";
import { handoff } from "./handoff";
import { portalUrl } from "./portalUrl";
import { servicePrincipal } from "./servicePrincipal";
import type { StepStages } from "../runs/step";
import type { ProvisioningStep } from "./stepContext";
import { tidy } from "./tidy";
import { upsertApplication } from "./upsertApplication";
import { verify } from "./verify";
import { writeUmp } from "./writeUmp";

export const STEP_LISTS: Record<"api" | "handoff", StepStages<ProvisioningStep>> = {
  api: [upsertApplication, [servicePrincipal, addSecret], writeUmp, portalUrl, verify, tidy],
  handoff: [upsertApplication, [servicePrincipal, addSecret], verify, handoff, tidy],
};
