// Which card every message syncbot posted shows (issue 20). A button press names its message only by
// the invoke's replyToId, which the presser controls: without a record of what each message is, a
// press could put one request's (or one person's) content on another request's card. So every post
// records a binding (conversation, message id) → (card kind, subject), and the chat edge asks
// `shows(binding, wanted)` before any update of an existing message: a button may update only a
// message of its own kind that shows its own subject. A message without a binding was not posted by
// syncbot (or not here): a press on it is refused and nothing changes.
//
// Extending it: a new card kind is one more member of CardKind; its poster passes
// `{ kind, subject }` when it posts (Messenger.post / sendCard), and each button that updates that card
// declares the kinds it lives on (CardAction.on in src/bot/botKit.ts). The subject is whatever one id
// the card shows for its whole life: a request id, a batch id, a customer slug, or "" for a card about
// no single thing (the status overview, the blank batch form).

import type { DocumentStore } from "./documentStore";

/** Every kind of card syncbot posts with buttons. */
export type CardKind =
  | "parameters"
  | "approval"
  | "drift"
  | "batchList"
  | "batch"
  | "status"
  | "history"
  | "reminder"
  | "digest"
  | "handoff";

export interface CardSubject {
  kind: CardKind;
  /** The one request, batch or customer the card shows ("" when it shows no single one). */
  subject: string;
}

export interface MessageBinding extends CardSubject {
  conversationId: string;
  activityId: string;
  at: string;
}

const COLLECTION = "messageBindings";

/**
 * A Teams conversation id as one conversation: a channel thread's id carries `;messageid=<root>`, which
 * differs between the post and a press inside the thread's replies, but it is the same conversation.
 */
export function conversationKey(conversationId: string): string {
  return conversationId.split(";")[0] ?? conversationId;
}

const keyOf = (conversationId: string, activityId: string) => `${conversationKey(conversationId)}|${activityId}`;

/** Whether a message shows exactly this card: same kind, same subject. */
export function shows(binding: MessageBinding | null, wanted: CardSubject): boolean {
  return !!binding && binding.kind === wanted.kind && binding.subject === wanted.subject;
}

export type MessageBindings = ReturnType<typeof createMessageBindings>;

export function createMessageBindings(store: DocumentStore, now: () => Date) {
  return {
    /** Records what a message shows (a new post, or a form that became the card of its first request). */
    async bind(conversationId: string, activityId: string, card: CardSubject): Promise<MessageBinding> {
      const binding: MessageBinding = {
        conversationId: conversationKey(conversationId),
        activityId,
        kind: card.kind,
        subject: card.subject,
        at: now().toISOString(),
      };
      await store.upsert(COLLECTION, keyOf(conversationId, activityId), binding);
      return binding;
    },
    async get(conversationId: string, activityId: string): Promise<MessageBinding | null> {
      if (!conversationId || !activityId) return null;
      return (await store.get<MessageBinding>(COLLECTION, keyOf(conversationId, activityId)))?.value ?? null;
    },
    /**
     * Re-binds a message only while it still shows `from` (compare-and-set): two presses racing to turn
     * one form into a request's card leave exactly one winner. Resolves whether this call won.
     */
    async rebind(conversationId: string, activityId: string, from: CardSubject, to: CardSubject): Promise<boolean> {
      const key = keyOf(conversationId, activityId);
      const doc = await store.get<MessageBinding>(COLLECTION, key);
      if (!doc || !shows(doc.value, from)) return false;
      const next: MessageBinding = { ...doc.value, kind: to.kind, subject: to.subject, at: now().toISOString() };
      return !!(await store.replace(COLLECTION, key, next, doc.version));
    },
  };
}
