// The registration record's secret list, kept in step with what runs add to and remove from Entra.

import type { RegistrationRecord, RequestRecord, RunRecord } from "../records";
import type { SecretRecord } from "../secretRecord";
import type { Repository } from "../repository";

export function newRegistration(request: RequestRecord, run: RunRecord, at: string): RegistrationRecord {
  return {
    customer: request.customer,
    params: request.params,
    objectId: run.objectId!,
    appId: run.appId!,
    conversation: request.conversation,
    secrets: [],
    createdAt: at,
    updatedAt: at,
  };
}

export async function recordSecret(repo: Repository, request: RequestRecord, record: SecretRecord, at: string) {
  const run = request.run!;
  await repo.saveRegistration(request.customer, (cur) => {
    const base = cur ?? newRegistration(request, run, at);
    return {
      ...base,
      objectId: run.objectId!,
      appId: run.appId!,
      conversation: request.conversation,
      secrets: [...base.secrets.filter((s) => s.keyId !== record.keyId), record],
      updatedAt: at,
    };
  });
}

export async function forgetSecret(repo: Repository, customer: string, keyId: string, at: string) {
  const existing = await repo.getRegistration(customer);
  if (!existing) return;
  await repo.saveRegistration(customer, (cur) => ({
    ...cur!,
    secrets: cur!.secrets.filter((s) => s.keyId !== keyId),
    updatedAt: at,
  }));
}
