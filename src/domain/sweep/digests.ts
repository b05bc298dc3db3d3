// Reminder digests (issue 17): when several registrations of one conversation are due together, one
// message lists them all instead of one card each. This module is the stored side: the digest's pages
// (each page one document, so no record outgrows a store entity however large the fleet), the
// conversation key that groups registrations (a channel's reply chains share the channel's budget),
// and the "one digest per conversation per day" marker.

import type { DocumentStore } from "../documentStore";
import type { ConversationRef } from "../records";
import type { ReminderNotice } from "./sweepTypes";

/** One line of a digest: one due secret of one registration (its notice, less the day count, which a page works out when shown). */
export type DigestEntry = Omit<ReminderNotice, "daysLeft">;

export interface DigestRecord {
  id: string;
  conversation: ConversationRef;
  createdAt: string;
  pages: number;
  total: number;
  /** The message that shows the digest, once the connector accepted it. */
  activityId?: string;
}

const DIGESTS = "digests";
const PAGES = "digestPages";
const DAYS = "digestDays";

/**
 * The conversation a registration's reminders go to, as Teams budgets it: a channel's reply chains
 * (`19:…@thread.tacv2;messageid=…`) are one conversation, so they are grouped under the channel id.
 */
export function conversationKey(ref: ConversationRef): string {
  const conversation = (ref.conversation ?? {}) as { id?: unknown };
  const id = typeof conversation.id === "string" ? conversation.id.split(";messageid=")[0]! : "";
  return `${typeof ref.serviceUrl === "string" ? ref.serviceUrl : ""}|${id}`;
}

export function createDigestStore(store: DocumentStore) {
  const pageKey = (id: string, page: number) => `${id}|${String(page).padStart(5, "0")}`;
  return {
    /** Stores every page, then the header: a digest whose header exists is complete. */
    async save(digest: DigestRecord, pages: DigestEntry[][]): Promise<void> {
      for (const [i, entries] of pages.entries()) await store.upsert(PAGES, pageKey(digest.id, i + 1), { entries });
      await store.upsert(DIGESTS, digest.id, digest);
    },
    async get(id: string): Promise<DigestRecord | null> {
      return (await store.get<DigestRecord>(DIGESTS, id))?.value ?? null;
    },
    async setActivity(id: string, activityId: string): Promise<void> {
      const doc = await store.get<DigestRecord>(DIGESTS, id);
      if (doc) await store.replace(DIGESTS, id, { ...doc.value, activityId }, doc.version);
    },
    async page(id: string, page: number): Promise<DigestEntry[] | null> {
      return (await store.get<{ entries: DigestEntry[] }>(PAGES, pageKey(id, page)))?.value.entries ?? null;
    },
    /** Every line of the digest, page after page (Rotate all). */
    async entries(id: string): Promise<DigestEntry[]> {
      const digest = await this.get(id);
      const out: DigestEntry[] = [];
      for (let p = 1; p <= (digest?.pages ?? 0); p++) out.push(...((await this.page(id, p)) ?? []));
      return out;
    },
    /** Whether this conversation already received a digest on that day (UTC, `YYYY-MM-DD`). */
    async sentOn(kind: "real" | "simulated", key: string, day: string): Promise<boolean> {
      return (await store.get(DAYS, `${kind}|${day}|${key}`)) !== null;
    },
    async markSentOn(kind: "real" | "simulated", key: string, day: string, digestId: string): Promise<void> {
      await store.upsert(DAYS, `${kind}|${day}|${key}`, { digestId });
    },
  };
}

export type DigestStore = ReturnType<typeof createDigestStore>;
