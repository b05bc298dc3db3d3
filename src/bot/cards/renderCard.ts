// Card rendering: one Adaptive Card template per card under adaptiveCards/, expanded with
// adaptivecards-templating from a view model. Shared by every card module; view models never hold secrets.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ACData from "adaptivecards-templating";
import { daysUntil } from "../../domain/reminders";

/** An expanded Adaptive Card (structurally what teams-ai and botbuilder accept). */
export type Card = { type: "AdaptiveCard"; [key: string]: unknown };

const TEMPLATE_DIR = join(__dirname, "..", "..", "..", "adaptiveCards");
const templates = new Map<string, unknown>();

function template(name: string): unknown {
  let t = templates.get(name);
  if (!t) {
    t = JSON.parse(readFileSync(join(TEMPLATE_DIR, `${name}.json`), "utf8"));
    templates.set(name, t);
  }
  return t;
}

// Data reaching a card may come from users or from a hand-edited registration: neutralise template
// syntax so it is shown, never evaluated or left looking like an unresolved placeholder. Cards built
// without a template (reminderCard) apply it too, so both kinds show such text the same way.
export function neutralise<T>(value: T): T {
  if (typeof value === "string") return value.replaceAll("${", "$\u200B{") as T;
  if (Array.isArray(value)) return value.map(neutralise) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, neutralise(v)])) as T;
  return value;
}

export function renderCard(name: string, data: Record<string, unknown>): Card {
  return new ACData.Template(template(name)).expand({ $root: neutralise(data) }) as Card;
}

export const fact = (title: string, value: string | number | undefined | null) => ({
  title,
  value: value === undefined || value === null || value === "" ? "—" : String(value),
});

export const utc = (iso: string | undefined) => (iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "—");

/** Same rounding as the reminders, so the status card and a reminder never disagree by a day. */
export function daysLeft(endDateTime: string, now: Date): number {
  return daysUntil(endDateTime, now);
}
