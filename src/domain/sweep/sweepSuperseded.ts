// Removes superseded secrets whose rotation grace period is over, walking the secrets of the store's
// registrations page by page (memory bounded by the page, not the fleet). Always judged by the real
// clock, whatever instant the sweep evaluates reminders at, and never a secret whose fingerprint UMP holds.

import type { SweepDeps, SweepRun } from "./sweepTypes";
import { describeError } from "../errors";
import type { RegistrationRecord } from "../records";
import type { SecretRecord } from "../secretRecord";
import { umpFingerprintOf } from "./sweepOrphans";

export async function removeSupersededSecrets(deps: SweepDeps, run: SweepRun): Promise<void> {
  const { repo } = deps;
  const realNow = deps.clock.now().getTime();
  let cursor: string | undefined;
  const isDue = (s: SecretRecord) =>
    s.status === "superseded" && !!s.removeAfter && Date.parse(s.removeAfter) <= realNow;
  do {
    // Only the secrets of each: the whole record is read for the few that have one to remove.
    const page = await repo.pageRegistrationFields(["customer", "secrets"], cursor);
    cursor = page.cursor;
    for (const listed of page.registrations) {
      if (!listed.secrets.some(isDue)) continue;
      const reg = await repo.getRegistration(listed.customer);
      if (!reg) continue;
      for (const s of reg.secrets.filter(isDue)) {
        try {
          await removeOne(deps, run, reg, s);
        } catch (e) {
          run.result.failures.push(`${reg.customer}/${s.keyId}: ${describeError(e).message}`);
        }
      }
    }
  } while (cursor !== undefined);
}

async function removeOne(deps: SweepDeps, run: SweepRun, reg: RegistrationRecord, s: SecretRecord) {
  const { repo, directory } = deps;
  const { result } = run;
  // Invariant 9: a predecessor UMP still holds (a rotation whose UMP write did not land) stays.
  const held = await umpFingerprintOf(deps, reg);
  if (held.source === "unreachable") {
    result.failures.push(`${reg.customer}/${s.keyId}: UMP could not be read, so the superseded secret stays for now`);
    return;
  }
  if (held.fingerprint === s.fingerprint) {
    deps.logger.warn("superseded secret kept: UMP still holds it", { customer: reg.customer, keyId: s.keyId });
    return;
  }
  if (run.dryRun) {
    result.wouldRemoveSuperseded.push(s.keyId);
    return;
  }
  // Idempotent in Graph (already removed is removed); the record update below is a compare-and-set,
  // so when two sweeps race only one audits and tells the conversation.
  await directory.removePassword(reg.objectId, s.keyId);
  const updated = await repo.update<RegistrationRecord>("registrations", reg.customer, (cur) =>
    cur.secrets.some((x) => x.keyId === s.keyId)
      ? { ...cur, secrets: cur.secrets.filter((x) => x.keyId !== s.keyId), updatedAt: deps.clock.now().toISOString() }
      : null,
  );
  if (!updated?.changed) return;
  result.removedSuperseded.push(s.keyId);
  await repo.audit({
    at: deps.clock.now().toISOString(),
    customer: reg.customer,
    actor: "syncbot",
    action: "secret.removed",
    outcome: "ok",
    correlationId: `sweep-${result.at}`,
    detail: `${s.keyId} (superseded; grace period over)`,
  });
  await deps.sendNotice?.(
    reg.conversation,
    `Rotation of ${reg.customer} complete: the old secret ${s.keyId} (hint ${s.hint}) was removed after its grace period.`,
  );
}
