// The hand-off card in the operator's personal chat: the one-time link and Applied in UMP.

import { type Card, renderCard } from "./renderCard";

export function handoffCard(v: {
  title: string;
  body: string;
  link?: string;
  requestId: string;
  showButtons: boolean;
  notice?: string;
}): Card {
  return renderCard("handoff", { notice: "", link: "", ...v });
}
