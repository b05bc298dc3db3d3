// Seeding for the expiry-sweep benchmark: the registration records a real provisioning stores, written
// by bench/run.ts before the measured worker (bench/sweepWorker.ts) opens the same SQLite file.

import type { RegistrationRecord } from "../src/domain/records";
import type { Repository } from "../src/domain/repository";

export interface SeedApp {
  id: string;
  appId: string;
  customer: string;
  keyId: string;
  endDateTime: string;
}
/** The registration record a real provisioning stores, with a conversation reference pointing at `connectorUrl`. */
export function seedRecord(a: SeedApp, connectorUrl: string, tenantId: string, now: string): RegistrationRecord {
  return {
    customer: a.customer,
    params: {
      customer: a.customer,
      appName: a.customer,
      serviceProviderFqdn: "ump.example.net",
      displayName: `UMP-365 Sync App ${a.customer}`,
      umpInstance: `ump-${a.customer}`,
      secretLifetimeMonths: 24,
    },
    objectId: a.id,
    appId: a.appId,
    // As TurnContext.getConversationReference gives it, so due reminders are really posted.
    conversation: {
      activityId: "1700000000000",
      user: { id: "29:requester", name: "Alex Wilber", aadObjectId: "11111111-1111-4111-8111-111111111111" },
      bot: { id: "28:syncbot", name: "syncbot" },
      conversation: {
        isGroup: true,
        conversationType: "channel",
        id: "19:ops-channel@thread.tacv2;messageid=1700000000000",
        tenantId,
      },
      channelId: "msteams",
      locale: "en-US",
      serviceUrl: connectorUrl,
    },
    secrets: [
      {
        keyId: a.keyId,
        service: "ump365-sync",
        runId: `seed-${a.customer}`,
        displayName: `syncbot:ump365-sync:seed-${a.customer}`,
        hint: "abc",
        endDateTime: a.endDateTime,
        fingerprint: "sha256:0000000000000000",
        createdAt: now,
        status: "active",
      },
    ],
    createdAt: now,
    updatedAt: now,
  };
}

/** Seeds the records through the repository (run by the parent, before this worker starts). */
export async function seedRegistrations(repo: Repository, apps: SeedApp[], connectorUrl: string, tenantId: string) {
  const now = new Date().toISOString();
  for (const a of apps) {
    const record = seedRecord(a, connectorUrl, tenantId, now);
    await repo.saveRegistration(a.customer, () => record);
  }
}
