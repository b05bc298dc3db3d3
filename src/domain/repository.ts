// Typed access to syncbot's records on top of any DocumentStore. Every state change is a
// compare-and-set on the document version, so two instances (or two approvers) racing produce one
// winner and the loser sees the winner's state.

import { randomUUID } from "node:crypto";
import type { DocumentStore, StoredDoc } from "./documentStore";
import type { AuditEvent, RegistrationRecord, ReminderClaim, RequestRecord, SnoozeRecord } from "./records";

const C = {
  requests: "requests",
  registrations: "registrations",
  audit: "audit",
  reminders: "reminders",
  snoozes: "snoozes",
  locks: "locks",
  handoffs: "handoffs",
  simulatedReminders: "simulatedReminders",
} as const;

export interface LockRecord {
  customer: string;
  requestId: string;
  owner: string;
  until: string;
}

export interface HandoffRecord {
  tokenHash: string;
  requestId: string;
  customer: string;
  /** AES-256-GCM ciphertext of the hand-off payload (never the plain secret). */
  sealed: string;
  expiresAt: string;
  operatorId: string;
  consumedAt?: string;
  /** When the operator revealed the values (the page's POST); "Applied in UMP" is accepted only after it. */
  revealedAt?: string;
}

const MAX_CAS_ATTEMPTS = 20;

// Audit keys sort newest first: an inverted, zero-padded timestamp, then an inverted sequence number,
// so that events written in the same millisecond (a step's event and run.succeeded) keep their order.
let auditSequence = 0;
function auditKey(customer: string, at: string, id: string): string {
  const inverted = (9_999_999_999_999 - Date.parse(at)).toString().padStart(13, "0");
  auditSequence = (auditSequence + 1) % 1_000_000;
  const sequence = (999_999 - auditSequence).toString().padStart(6, "0");
  return `${customer}|${inverted}|${sequence}|${id}`;
}

export type Repository = ReturnType<typeof createRepository>;

export function createRepository(store: DocumentStore) {
  /** Read-modify-write with CAS; `mutate` returns the new value or null to leave it alone. Retries on lost races. */
  async function update<T>(
    collection: string,
    key: string,
    mutate: (current: T) => T | null,
  ): Promise<{ value: T; changed: boolean } | null> {
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const doc = await store.get<T>(collection, key);
      if (!doc) return null;
      const next = mutate(structuredClone(doc.value));
      if (next === null) return { value: doc.value, changed: false };
      const saved = await store.replace(collection, key, next, doc.version);
      if (saved) return { value: saved.value, changed: true };
    }
    throw new Error(`could not update ${collection}/${key}: too much contention`);
  }

  return {
    store,
    update,

    async createRequest(req: RequestRecord): Promise<void> {
      const saved = await store.insert(C.requests, req.id, req);
      if (!saved) throw new Error(`request ${req.id} exists`);
    },
    async getRequest(id: string): Promise<RequestRecord | null> {
      return (await store.get<RequestRecord>(C.requests, id))?.value ?? null;
    },
    updateRequest(id: string, mutate: (r: RequestRecord) => RequestRecord | null) {
      return update<RequestRecord>(C.requests, id, mutate);
    },
    async listRequests(): Promise<RequestRecord[]> {
      return (await listAll<RequestRecord>(C.requests)).map((d) => d.value);
    },

    async getRegistration(customer: string): Promise<RegistrationRecord | null> {
      return (await store.get<RegistrationRecord>(C.registrations, customer))?.value ?? null;
    },
    /** Only these fields of the registration (parsed alone where the store can), for a sweep over the fleet. */
    async getRegistrationFields<K extends keyof RegistrationRecord & string>(
      customer: string,
      fields: readonly K[],
    ): Promise<Pick<RegistrationRecord, K> | null> {
      if (store.getFields) return store.getFields<RegistrationRecord, K>(C.registrations, customer, fields);
      const reg = (await store.get<RegistrationRecord>(C.registrations, customer))?.value;
      if (!reg) return null;
      const out = {} as Pick<RegistrationRecord, K>;
      for (const f of fields) if (f in reg) out[f] = reg[f];
      return out;
    },
    async listRegistrations(): Promise<RegistrationRecord[]> {
      return (await listAll<RegistrationRecord>(C.registrations)).map((d) => d.value);
    },
    /** Creates or updates the registration record with CAS; `mutate` gets null when there is none yet. */
    async saveRegistration(
      customer: string,
      mutate: (current: RegistrationRecord | null) => RegistrationRecord,
    ): Promise<RegistrationRecord> {
      for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
        const doc = await store.get<RegistrationRecord>(C.registrations, customer);
        const next = mutate(doc ? structuredClone(doc.value) : null);
        const saved = doc
          ? await store.replace(C.registrations, customer, next, doc.version)
          : await store.insert(C.registrations, customer, next);
        if (saved) return saved.value;
      }
      throw new Error(`could not save registration ${customer}: too much contention`);
    },

    async audit(event: Omit<AuditEvent, "id">): Promise<AuditEvent> {
      const full: AuditEvent = { id: randomUUID(), ...event };
      await store.insert(C.audit, auditKey(event.customer, event.at, full.id), full);
      return full;
    },
    /** Newest first; `after` is the last key of the previous page. */
    async listAudit(
      customer: string,
      options: { limit: number; after?: string },
    ): Promise<{ events: AuditEvent[]; next?: string }> {
      const docs = await store.list<AuditEvent>(C.audit, {
        prefix: `${customer}|`,
        after: options.after,
        limit: options.limit + 1,
      });
      const page = docs.slice(0, options.limit);
      return {
        events: page.map((d) => d.value),
        next: docs.length > options.limit ? page[page.length - 1]?.key : undefined,
      };
    },

    /** Claims the reminder; null when another sweep already claimed or sent it. */
    async claimReminder(claim: ReminderClaim): Promise<StoredDoc<ReminderClaim> | null> {
      return store.insert(C.reminders, `${claim.keyId}|${claim.threshold}`, claim);
    },
    async getReminder(keyId: string, threshold: string): Promise<StoredDoc<ReminderClaim> | null> {
      return store.get<ReminderClaim>(C.reminders, `${keyId}|${threshold}`);
    },
    async takeOverReminder(doc: StoredDoc<ReminderClaim>, claim: ReminderClaim) {
      return store.replace(C.reminders, doc.key, claim, doc.version);
    },
    async releaseReminder(doc: StoredDoc<ReminderClaim>) {
      return store.delete(C.reminders, doc.key, doc.version);
    },
    async markReminderSent(doc: StoredDoc<ReminderClaim>, sentAt: string) {
      const sent: ReminderClaim = { ...doc.value, state: "sent", sentAt };
      return store.replace(C.reminders, doc.key, sent, doc.version);
    },
    async listReminders(keyId: string): Promise<ReminderClaim[]> {
      return (await store.list<ReminderClaim>(C.reminders, { prefix: `${keyId}|` })).map((d) => d.value);
    },

    async snooze(record: SnoozeRecord): Promise<void> {
      await store.upsert(C.snoozes, record.keyId, record);
    },
    async getSnooze(keyId: string): Promise<SnoozeRecord | null> {
      return (await store.get<SnoozeRecord>(C.snoozes, keyId))?.value ?? null;
    },

    /** One run per customer at a time; an expired lock (crashed owner) can be taken over. */
    async acquireLock(lock: LockRecord, now: Date): Promise<{ ok: true } | { ok: false; holder: LockRecord }> {
      for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
        const doc = await store.get<LockRecord>(C.locks, lock.customer);
        if (!doc) {
          if (await store.insert(C.locks, lock.customer, lock)) return { ok: true };
          continue;
        }
        const sameRequest = doc.value.requestId === lock.requestId;
        if (!sameRequest && Date.parse(doc.value.until) > now.getTime()) return { ok: false, holder: doc.value };
        if (await store.replace(C.locks, lock.customer, lock, doc.version)) return { ok: true };
      }
      throw new Error(`could not lock ${lock.customer}: too much contention`);
    },
    /** Extends a lock this run holds; false when another run holds it now (this one must stop writing). */
    async renewLock(lock: LockRecord): Promise<boolean> {
      for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
        const doc = await store.get<LockRecord>(C.locks, lock.customer);
        if (!doc || doc.value.requestId !== lock.requestId || doc.value.owner !== lock.owner) return false;
        if (await store.replace(C.locks, lock.customer, lock, doc.version)) return true;
      }
      throw new Error(`could not renew the lock of ${lock.customer}: too much contention`);
    },
    async getLock(customer: string): Promise<LockRecord | null> {
      return (await store.get<LockRecord>(C.locks, customer))?.value ?? null;
    },
    async releaseLock(customer: string, requestId: string): Promise<void> {
      const doc = await store.get<LockRecord>(C.locks, customer);
      if (doc && doc.value.requestId === requestId) await store.delete(C.locks, customer, doc.version);
    },

    async putHandoff(record: HandoffRecord): Promise<void> {
      await store.upsert(C.handoffs, record.tokenHash, record);
    },
    async getHandoff(tokenHash: string): Promise<StoredDoc<HandoffRecord> | null> {
      return store.get<HandoffRecord>(C.handoffs, tokenHash);
    },
    /** Single use: marks consumed and drops the sealed secret in one conditional write. */
    async consumeHandoff(doc: StoredDoc<HandoffRecord>, at: string) {
      return store.replace(
        C.handoffs,
        doc.key,
        { ...doc.value, sealed: "", consumedAt: at, revealedAt: at },
        doc.version,
      );
    },
    async destroyHandoff(tokenHash: string) {
      const doc = await store.get<HandoffRecord>(C.handoffs, tokenHash);
      if (doc?.value.sealed) await store.replace(C.handoffs, doc.key, { ...doc.value, sealed: "" }, doc.version);
    },
    async listHandoffs(): Promise<HandoffRecord[]> {
      return (await listAll<HandoffRecord>(C.handoffs)).map((d) => d.value);
    },

    /** One page of registration records (ascending customer); pass the returned cursor for the next. */
    async pageRegistrations(
      cursor?: string,
      limit = 200,
    ): Promise<{ registrations: RegistrationRecord[]; cursor?: string }> {
      const page = await store.listPage<RegistrationRecord>(C.registrations, { limit, cursor });
      return { registrations: page.docs.map((d) => d.value), cursor: page.cursor };
    },
    /** pageRegistrations with only these fields of each (parsed alone where the store can). */
    async pageRegistrationFields<K extends keyof RegistrationRecord & string>(
      fields: readonly K[],
      cursor?: string,
      limit = 200,
    ): Promise<{ registrations: Pick<RegistrationRecord, K>[]; cursor?: string }> {
      const page = store.listPageFields
        ? await store.listPageFields<RegistrationRecord, K>(C.registrations, { limit, cursor }, fields)
        : await store.listPage<RegistrationRecord>(C.registrations, { limit, cursor });
      return { registrations: page.docs.map((d) => d.value), cursor: page.cursor };
    },
    /** One page of requests (by request id); pass the returned cursor for the next. */
    async pageRequests(cursor?: string, limit = 200): Promise<{ requests: RequestRecord[]; cursor?: string }> {
      const page = await store.listPage<RequestRecord>(C.requests, { limit, cursor });
      return { requests: page.docs.map((d) => d.value), cursor: page.cursor };
    },
    /**
     * The reminder claims of real sweeps, or those of sweeps evaluated at a simulated instant (`--at`),
     * kept apart so a reminder sent for a simulated instant never suppresses the real one.
     */
    reminderClaims(kind: "real" | "simulated") {
      const collection = kind === "real" ? C.reminders : C.simulatedReminders;
      const keyOf = (keyId: string, threshold: string) => `${keyId}|${threshold}`;
      return {
        claim: (claim: ReminderClaim) => store.insert(collection, keyOf(claim.keyId, claim.threshold), claim),
        get: (keyId: string, threshold: string) => store.get<ReminderClaim>(collection, keyOf(keyId, threshold)),
        takeOver: (doc: StoredDoc<ReminderClaim>, claim: ReminderClaim) =>
          store.replace(collection, doc.key, claim, doc.version),
        release: (doc: StoredDoc<ReminderClaim>) => store.delete(collection, doc.key, doc.version),
        markSent: (doc: StoredDoc<ReminderClaim>, sentAt: string) =>
          store.replace<ReminderClaim>(collection, doc.key, { ...doc.value, state: "sent", sentAt }, doc.version),
        async list(keyId: string): Promise<ReminderClaim[]> {
          return (await store.list<ReminderClaim>(collection, { prefix: `${keyId}|` })).map((d) => d.value);
        },
      };
    },
  };

  async function listAll<T>(collection: string): Promise<StoredDoc<T>[]> {
    const out: StoredDoc<T>[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.list<T>(collection, { after, limit: 500 });
      out.push(...page);
      if (page.length < 500) return out;
      after = page[page.length - 1]!.key;
    }
  }
}
