// The hand-off card in the operator's personal chat: the one-time link and Applied in UMP.

import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { type Card, renderCard } from "./renderCard";

export function handoffCard(v: {
  title: string;
  body: string;
  link?: string;
  requestId: string;
  showButtons: boolean;
  notice?: string;
}): Card {
  return renderCard("handoff", {
    link: "",
    ...v,
    title: md(truncate(v.title, 200)),
    body: md(truncate(v.body, 1000)),
    notice: md(truncate(v.notice ?? "", 600)),
  });
}
