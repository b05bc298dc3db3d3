// Rotate secret (status and reminder cards) and Snooze (reminder card). A rotation plan is a request of
// its own: it is posted as a new message everyone sees (reading…, then the plan with Approve and
// Reject), and the pressed card stays as it was. A snooze (an approver's or the registration's
// requester's) updates the reminder card for everyone, only the reminder of that customer.

import { describeError } from "../../domain/errors";
import type { Actor, ConversationRef } from "../../domain/records";
import { isCustomerSlug, isServiceName } from "../../domain/spec";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import { answerInTime } from "../answerInTime";
import type { BotKit, CardAction, InvokeAnswer } from "../botKit";
import { progressCard } from "../cards/progressCard";
import { reminderCard } from "../cards/reminderCard";
import { planRotation } from "../planRotation";
import { echo } from "../cards/markdownText";

const rotate: CardAction = {
  verb: "secret.rotate",
  on: ["status", "reminder", "digest"],
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const customer = typeof data.customer === "string" ? data.customer.toLowerCase() : "";
    const service = typeof data.service === "string" && data.service !== "" ? data.service : undefined;
    if (!isCustomerSlug(customer)) return `syncbot manages no registration for "${echo(customer)}".`;
    if (service && !isServiceName(service))
      return `"${echo(service)}" is not a service name (1-32 lower-case letters, digits or hyphens).`;
    const reference = referenceOf(context);
    afterResponse(context, () => {
      void rotationInBackground(kit, reference, customer, service, actor).catch((e) =>
        kit.log.error("rotation plan failed", { customer, error: describeError(e).message }),
      );
    });
    return `Preparing a plan to rotate the ${service ?? "ump"} secret of ${customer}; it appears as a new message for approval.`;
  },
};

async function rotationInBackground(
  kit: BotKit,
  reference: ConversationRef,
  customer: string,
  service: string | undefined,
  actor: Actor,
): Promise<void> {
  const title = `Rotate the secret for ${customer}`;
  const cardId = await kit.messenger.post(
    reference,
    progressCard({
      title: `${title}: preparing the plan`,
      text: "Reading the live registration and UMP settings…",
      detail: `Rotate secret pressed by ${actor.name}.`,
    }),
  );
  if (!cardId) return;
  const outcome = await planRotation(reference, kit, customer, service, actor);
  if (typeof outcome === "string")
    return void (await kit.messenger.updateCard(
      reference,
      cardId,
      progressCard({ title: `${title}: no plan`, text: "Nothing was changed.", detail: outcome }),
    ));
  await kit.attachRequestCard(outcome.id, reference, cardId);
  kit.onRequestChanged({ ...outcome, cardActivityId: cardId });
}

const snooze: CardAction = {
  verb: "reminder.snooze",
  on: ["reminder"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const sweeper = kit.sweeper();
    if (!sweeper) return "Reminders are not configured.";
    const customer = String(data.customer ?? "");
    if (pressed.subject !== customer) return "This card is another customer's reminder; nothing was changed.";
    const work = (async (): Promise<InvokeAnswer> => {
      const result = await sweeper.snooze(customer, String(data.keyId ?? ""), actor);
      if (!result.ok) return result.reason;
      const card = reminderCard({
        ...result.view,
        showButtons: true,
        notice: `Snoozed until ${result.until.slice(0, 10)} by ${actor.name}.`,
      });
      await kit.messenger.updatePressedCard(context, card, { kind: "reminder", subject: customer });
      return card;
    })();
    return answerInTime(kit.log, work, "Snoozing; the reminder updates for everyone when it is recorded.");
  },
};

export const secretActions: CardAction[] = [rotate, snooze];
