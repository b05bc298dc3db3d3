// The secret-expiry reminder posted by the sweep, with Rotate secret and Snooze.

import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { type Card, fact, renderCard, utc } from "./renderCard";

export interface ReminderView {
  customer: string;
  service: string;
  clientId: string;
  keyId: string;
  hint: string;
  endDateTime: string;
  daysLeft: number;
  notice?: string;
  showButtons?: boolean;
}

export function reminderCard(v: ReminderView): Card {
  const expired = v.daysLeft < 0;
  return renderCard("reminder", {
    title: expired
      ? `The ${v.service} secret of ${v.customer} has EXPIRED`
      : `The ${v.service} secret of ${v.customer} expires in ${v.daysLeft} day${v.daysLeft === 1 ? "" : "s"}`,
    color: expired || v.daysLeft <= 7 ? "Attention" : "Warning",
    facts: [
      fact("Customer", v.customer),
      fact("Client ID", v.clientId),
      fact("Secret keyId", v.keyId),
      fact("Secret hint", v.hint),
      fact("Expires", utc(v.endDateTime)),
      fact("Days left", v.daysLeft),
    ],
    notice: md(truncate(v.notice ?? "", 600)),
    showButtons: v.showButtons ?? true,
    customer: v.customer,
    service: v.service,
    keyId: v.keyId,
  });
}
