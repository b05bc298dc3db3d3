// What the shared card shows while slow work (live reads for a plan) runs after the invoke was answered:
// no buttons, so nobody acts on a card whose outcome is not known yet.

import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { type Card, renderCard } from "./renderCard";

export function progressCard(v: { title: string; text: string; detail?: string }): Card {
  return renderCard("progress", {
    title: md(truncate(v.title, 300)),
    // Callers' sentences, already escaped where they quote someone's text (echo, describeError's callers).
    text: truncate(v.text, 1000),
    detail: md(truncate(v.detail ?? "", 300)),
  });
}
