// The parameters card's Review plan (also on failed/expired approval cards and the drift card): validate
// the form, read live state, and store a planned request whose card everyone then sees.

import { PARAMETER_FIELDS, type ProvisionParameters, validateParameters } from "../../domain/spec";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import type { CardAction } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import { driftCard } from "../cards/driftCard";
import { parametersCard } from "../cards/parametersCard";
import { guardReview } from "../guardReview";
import { truncate } from "../truncate";

type ParametersDefaults = Partial<Record<keyof ProvisionParameters, string | number>>;

export const reviewPlan: CardAction = {
  verb: "provision.review",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const validated = validateParameters(data);
    if (!validated.ok) return parametersCard({ values: pickParams(data), errors: validated.errors });
    const outcome = await guardReview(kit.log, () =>
      kit.provisioning.review({
        params: validated.params,
        kind: "provision",
        requester: actor,
        tenantId: kit.config.spTenantId,
        conversation: referenceOf(context),
      }),
    );
    if ("error" in outcome) return parametersCard({ values: validated.params, formError: outcome.error });
    switch (outcome.kind) {
      case "invalid":
        return parametersCard({ values: validated.params, errors: outcome.errors });
      case "busy":
        return parametersCard({ values: validated.params, formError: outcome.reason });
      case "nothing-to-do":
        return driftCard(validated.params.customer, validated.params, [], undefined);
      case "planned":
        if (context.activity.replyToId)
          await kit.provisioning.attachCard(outcome.request.id, context.activity.replyToId);
        return approvalCard(kit.cardView(outcome.request));
    }
  },
};

export const provisionActions: CardAction[] = [reviewPlan];

function pickParams(data: Record<string, unknown>): ParametersDefaults {
  const out: ParametersDefaults = {};
  for (const k of PARAMETER_FIELDS) {
    const v = data[k];
    if (typeof v === "string" || typeof v === "number") out[k] = truncate(String(v), 300);
  }
  return out;
}
