// A rotation plan for a managed customer, shared by the `rotate` command and the Rotate secret button:
// the request in state planned, or the sentence that says why there is none.

import type { Actor, ConversationRef, RequestRecord } from "../domain/records";
import { isCustomerSlug, isServiceName } from "../domain/spec";
import type { BotKit } from "./botKit";
import { guardReview } from "./guardReview";
import { echo } from "./cards/markdownText";

export async function planRotation(
  conversation: ConversationRef,
  kit: BotKit,
  customer: string,
  service: string | undefined,
  actor: Actor,
): Promise<RequestRecord | string> {
  const registration = isCustomerSlug(customer) ? await kit.repo.getRegistration(customer) : null;
  if (!registration) return `syncbot manages no registration for "${echo(customer)}".`;
  if (service && !isServiceName(service))
    return `"${echo(service)}" is not a service name (1-32 lower-case letters, digits or hyphens).`;
  const outcome = await guardReview(kit.log, () =>
    kit.provisioning.review({
      params: registration.params,
      kind: "rotate",
      service: service?.toLowerCase(),
      requester: actor,
      tenantId: kit.config.spTenantId,
      conversation,
    }),
  );
  if ("error" in outcome) return outcome.error;
  if (outcome.kind === "planned") return outcome.request;
  if (outcome.kind === "invalid") return `Cannot plan a rotation: ${Object.values(outcome.errors).join(" ")}`;
  if (outcome.kind === "busy") return outcome.reason;
  return "Nothing to rotate.";
}
