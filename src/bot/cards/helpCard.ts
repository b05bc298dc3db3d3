// The command list, shown for `help` and for anything syncbot does not understand.

import { type Card, renderCard } from "./renderCard";

export const COMMANDS: Array<[string, string]> = [
  [
    "provision <customer>",
    "create or reconcile the customer's Sync App registration and UMP settings (approval needed)",
  ],
  ["status [customer]", "registrations syncbot manages: client id, secrets with expiry countdown, UMP state, drift"],
  ["check <customer>", "compare the live registration and UMP settings with the desired spec"],
  [
    "rotate <customer> [service]",
    "plan a new client secret for the service (default ump; others are handed over by one-time link); approval needed; the old one stays valid through a grace period",
  ],
  ["history <customer>", "the audit trail: who asked, who approved, what changed, when"],
  ["doctor", "syncbot's own standing: Graph reachable and permissions held vs needed, UMP, store, clock, bot identity"],
  ["help", "this list"],
];

export function helpCard(intro = ""): Card {
  // The plain help card never changes: render it once (templating costs ~3 ms, most of a help turn).
  if (intro !== "") return renderHelp(intro);
  plainHelp ??= renderHelp("");
  return plainHelp;
}

let plainHelp: Card | undefined;
function renderHelp(intro: string): Card {
  return renderCard("help", {
    title: "syncbot commands",
    intro,
    commands: COMMANDS.map(([title, value]) => ({ title, value })),
  });
}
