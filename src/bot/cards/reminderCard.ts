// The secret-expiry reminder posted by the sweep, with Rotate secret and Snooze. Built directly, not
// from a template: a sweep posts thousands of them, and the template engine costs milliseconds and a
// heap's worth of garbage per card. The card is the one adaptiveCards/ templates would give.

import type { ReminderNotice } from "../../domain/sweep/sweepTypes";
import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { type Card, fact, neutralise, utc } from "./renderCard";

/** The sweep's notice (its threshold is not shown), plus what a pressed button adds. */
export interface ReminderView extends Omit<ReminderNotice, "threshold"> {
  notice?: string;
  showButtons?: boolean;
}

const SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json";

export function reminderCard(v: ReminderView): Card {
  const expired = v.daysLeft < 0;
  // Only what came from outside (the view) is neutralised, as renderCard does with a template's data.
  const customer = neutralise(v.customer);
  const service = neutralise(v.service);
  const keyId = neutralise(v.keyId);
  const notice = neutralise(md(truncate(v.notice ?? "", 600)));
  const shown = { customer: md(customer), service: md(service) };
  const title = expired
    ? `The ${shown.service} secret of ${shown.customer} has EXPIRED`
    : `The ${shown.service} secret of ${shown.customer} expires in ${v.daysLeft} day${v.daysLeft === 1 ? "" : "s"}`;
  const body: unknown[] = [
    {
      type: "TextBlock",
      text: title,
      weight: "Bolder",
      size: "Medium",
      wrap: true,
      color: expired || v.daysLeft <= 7 ? "Attention" : "Warning",
    },
    {
      type: "FactSet",
      facts: neutralise([
        fact("Customer", md(v.customer)),
        fact("Client ID", v.clientId),
        fact("Secret keyId", v.keyId),
        fact("Secret hint", v.hint),
        fact("Expires", utc(v.endDateTime)),
        fact("Days left", v.daysLeft),
      ]),
    },
  ];
  if (notice !== "") body.push({ type: "TextBlock", text: notice, wrap: true, weight: "Bolder" });
  const actions =
    (v.showButtons ?? true)
      ? [
          {
            type: "Action.Execute",
            title: "Rotate secret",
            verb: "secret.rotate",
            data: { customer, service },
          },
          {
            type: "Action.Execute",
            title: "Snooze",
            verb: "reminder.snooze",
            data: { customer, keyId },
          },
        ]
      : [];
  return { type: "AdaptiveCard", $schema: SCHEMA, version: "1.5", body, actions };
}
