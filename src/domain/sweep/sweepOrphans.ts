// Finds and removes orphan secrets: named `syncbot:<service>:<runId>` on a registration syncbot keeps,
// older than a safety age, recorded by no registration and claimed by no run (a process that died, or a
// store write that failed, right after addPassword). Invariant 9 rules: a secret UMP may hold stays, so
// one is removed only when UMP provably holds another, recorded secret (or none at all).

import type { SweepDeps, SweepRun } from "./sweepTypes";
import { describeError } from "../errors";
import type { PasswordCredentialInfo } from "../ports";
import type { RegistrationRecord, RequestState } from "../records";

/** An unrecorded syncbot secret younger than this may belong to a run that is about to record it. */
export const ORPHAN_MIN_AGE_MS = 3_600_000;
/** At most this many orphans are handled per sweep (the rest next time), so memory stays bounded. */
const MAX_CANDIDATES = 500;
const FINISHED: ReadonlySet<RequestState> = new Set(["succeeded", "failed", "rejected", "expired"]);

export type UmpHeld =
  | { source: "live" | "stored"; fingerprint: string | null }
  | { source: "none" | "unreachable"; fingerprint?: undefined };

/** What UMP holds for this registration: read live when syncbot can, else as last recorded. */
export async function umpFingerprintOf(deps: SweepDeps, reg: RegistrationRecord): Promise<UmpHeld> {
  if (deps.umpFingerprint) {
    try {
      return { source: "live", fingerprint: await deps.umpFingerprint(reg) };
    } catch (e) {
      deps.logger.warn("UMP could not be read during the sweep", {
        customer: reg.customer,
        error: describeError(e).message,
      });
      return { source: "unreachable" };
    }
  }
  // A recorded null says nothing (a hand-off: syncbot never saw what the operator applied).
  return reg.ump?.fingerprint ? { source: "stored", fingerprint: reg.ump.fingerprint } : { source: "none" };
}

/** The run id in a syncbot secret's display name, or null for any other name. */
export function runIdOf(displayName: string | null): string | null {
  return /^syncbot:[^:]+:(.+)$/.exec(displayName ?? "")?.[1] ?? null;
}
/** Whether runIdOf finds a run id, without allocating a match (asked for every secret of the fleet). */
const SYNCBOT_NAME = /^syncbot:[^:]+:.+$/;

interface Candidate {
  customer: string;
  objectId: string;
  keyId: string;
  runId: string;
}

export function createOrphanSweep(deps: SweepDeps) {
  const minAgeMs = deps.orphanMinAgeMs ?? ORPHAN_MIN_AGE_MS;
  const candidates: Candidate[] = [];

  return {
    /** Could this live secret be an orphan? Decided without the store, so most secrets cost nothing. */
    mightBeOrphan(p: PasswordCredentialInfo, realNow: Date): boolean {
      if (!p.startDateTime || !SYNCBOT_NAME.test(p.displayName ?? "")) return false;
      const created = Date.parse(p.startDateTime);
      return Number.isFinite(created) && created <= realNow.getTime() - minAgeMs;
    },

    /** Notes the secret when its registration does not record it. */
    consider(p: PasswordCredentialInfo, reg: Pick<RegistrationRecord, "customer" | "objectId" | "secrets">) {
      if (reg.secrets.some((s) => s.keyId === p.keyId) || candidates.length >= MAX_CANDIDATES) return;
      candidates.push({
        customer: reg.customer,
        objectId: reg.objectId,
        keyId: p.keyId,
        runId: runIdOf(p.displayName)!,
      });
    },

    /** After the Graph pass: drop the candidates a run claims, then remove the rest where UMP allows. */
    async settle(run: SweepRun): Promise<void> {
      if (candidates.length === 0) return;
      let unclaimed: Candidate[];
      try {
        unclaimed = await withoutClaimed(candidates.splice(0));
      } catch (e) {
        run.result.failures.push(`orphan check: runs could not be read (${describeError(e).message}); nothing removed`);
        return;
      }
      const byCustomer = new Map<string, Candidate[]>();
      for (const c of unclaimed) byCustomer.set(c.customer, [...(byCustomer.get(c.customer) ?? []), c]);
      for (const [customer, list] of byCustomer) {
        try {
          await removeFor(customer, list, run);
        } catch (e) {
          run.result.failures.push(`${customer}: orphan removal failed: ${describeError(e).message}`);
        }
      }
    },
  };

  /** Streams the requests page by page; a run in progress claims its secrets by run id, any run by keyId. */
  async function withoutClaimed(list: Candidate[]): Promise<Candidate[]> {
    const claimed = new Set<string>();
    const runIds = new Set(list.map((c) => c.runId));
    const keyIds = new Set(list.map((c) => c.keyId));
    let cursor: string | undefined;
    do {
      const page = await deps.repo.pageRequests(cursor);
      cursor = page.cursor;
      for (const req of page.requests) {
        const r = req.run;
        if (!r) continue;
        if (r.newSecret && keyIds.has(r.newSecret.keyId)) claimed.add(`key:${r.newSecret.keyId}`);
        if (!FINISHED.has(req.state) && runIds.has(r.id)) claimed.add(`run:${r.id}`);
      }
    } while (cursor !== undefined);
    return list.filter((c) => !claimed.has(`key:${c.keyId}`) && !claimed.has(`run:${c.runId}`));
  }

  async function removeFor(customer: string, list: Candidate[], run: SweepRun) {
    const { result } = run;
    // Read afresh: a run may have recorded the secret since the Graph pass saw it.
    const reg = await deps.repo.getRegistration(customer);
    if (!reg) return;
    const orphans = list.filter((c) => c.objectId === reg.objectId && !reg.secrets.some((s) => s.keyId === c.keyId));
    if (orphans.length === 0) return;
    const held = await umpFingerprintOf(deps, reg);
    const recorded = new Set(reg.secrets.map((s) => s.fingerprint));
    const umpHoldsAnother =
      held.source === "live"
        ? held.fingerprint === null || recorded.has(held.fingerprint)
        : held.source === "stored" && recorded.has(held.fingerprint!);
    if (!umpHoldsAnother) {
      // UMP may hold one of them (or cannot be asked): never remove what UMP might be using.
      result.skipped.orphanUmpUnclear += orphans.length;
      deps.logger.warn("orphan secrets kept: cannot tell which secret UMP holds", {
        customer,
        keyIds: orphans.map((o) => o.keyId),
        ump: held.source,
      });
      return;
    }
    for (const o of orphans) {
      if (run.dryRun) {
        result.wouldRemoveOrphans.push(o.keyId);
        continue;
      }
      await deps.directory.removePassword(o.objectId, o.keyId);
      result.removedOrphans.push(o.keyId);
      await deps.repo.audit({
        at: deps.clock.now().toISOString(),
        customer,
        actor: "syncbot",
        action: "secret.removed",
        outcome: "ok",
        correlationId: `sweep-${result.at}`,
        detail: `${o.keyId} (orphan named after run ${o.runId}: no run or registration claims it)`,
      });
    }
  }
}
