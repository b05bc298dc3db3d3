// The chat side of reminder digests (issue 17): cuts a sweep's due reminders into pages by size, stores
// the pages (Next page and Rotate all read them back; the card carries only the digest's id) and posts
// the first page into the conversation. Renders any page again with the snoozes recorded since.

import { randomUUID } from "node:crypto";
import type { ReminderNotice } from "../domain/sweep/sweepTypes";
import { createDigestStore, type DigestEntry } from "../domain/sweep/digests";
import type { CardSubject } from "../domain/messageBindings";
import type { Clock } from "../domain/ports";
import type { ConversationRef } from "../domain/records";
import type { Repository } from "../domain/repository";
import { digestCard, paginateDigest } from "./cards/digestCard";
import type { Card } from "./cards/renderCard";

export type Digests = ReturnType<typeof createDigests>;

export function createDigests(deps: {
  repo: Repository;
  clock: Clock;
  /** Posts a card that records what it shows (messageBindings): its buttons update only this digest's message. */
  post: (conversation: ConversationRef, card: Card, as: CardSubject) => Promise<string | undefined>;
}) {
  const { repo, clock } = deps;
  const store = createDigestStore(repo.store);

  /** Stores and posts a digest; resolves its id once the connector accepted the first page. */
  async function send(conversation: ConversationRef, notices: ReminderNotice[]): Promise<string> {
    const id = randomUUID();
    const now = clock.now();
    const entries: DigestEntry[] = notices.map((n) => ({
      customer: n.customer,
      service: n.service,
      clientId: n.clientId,
      keyId: n.keyId,
      hint: n.hint,
      endDateTime: n.endDateTime,
      threshold: n.threshold,
      ...(n.displayName ? { displayName: n.displayName } : {}),
    }));
    const pages = paginateDigest(id, entries, now);
    // Where the soonest due registration was provisioned (its reply chain of the channel), as its
    // reminder card would have gone.
    const target = conversation;
    await store.save(
      { id, conversation: target, createdAt: now.toISOString(), pages: pages.length, total: entries.length },
      pages,
    );
    const card = digestCard({
      digestId: id,
      page: 1,
      pages: pages.length,
      total: entries.length,
      entries: pages[0]!,
      now,
    });
    const activityId = await deps.post(target, card, { kind: "digest", subject: id });
    if (!activityId) throw new Error("the Bot Connector did not take the digest");
    // Accepted is what counts (invariant 7): remembering the message id is a convenience, never a failure.
    await store.setActivity(id, activityId).catch(() => undefined);
    return id;
  }

  /** One page as it stands now (days left, snoozes); null when the digest or page is unknown. */
  async function render(digestId: string, page: number, notice?: string): Promise<Card | null> {
    const digest = await store.get(digestId);
    const entries = digest ? await store.page(digestId, page) : null;
    if (!digest || !entries) return null;
    const now = clock.now();
    const snoozed = new Map<string, { until: string; by: string }>();
    for (const e of entries) {
      const s = await repo.getSnooze(e.keyId);
      if (s && Date.parse(s.until) > now.getTime()) snoozed.set(e.keyId, { until: s.until, by: s.by.name });
    }
    return digestCard({ digestId, page, pages: digest.pages, total: digest.total, entries, now, snoozed, notice });
  }

  return { send, render, store };
}
