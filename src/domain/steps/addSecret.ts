// Step: add the new client secret in Entra. Its value goes only to the held-secret store; the record
// keeps keyId, hint, expiry and fingerprint. A secret that never reached UMP (or the hand-off) is
// removed again when the run fails, and one whose value a restart lost is replaced on resume.

import { describeError, SyncbotError } from "../errors";
import type { UmpSettings } from "../ports";
import type { SecretRecord } from "../secretRecord";
import { addMonths } from "../spec";
import { forgetSecret, recordSecret } from "./registrationWrites";
import {
  fingerprintOf,
  nowIso,
  type ProvisioningStep,
  type StepContext,
  secretDisplayName,
  viaUmpApi,
} from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const addSecret: ProvisioningStep = {
  name: "addSecret",
  title: STEP_TITLES.addSecret,
  async run(ctx) {
    const { services: s, request, run, call } = ctx;
    if (!request.plan.changes.some((c) => c.kind === "secret.add"))
      return { status: "skipped", detail: "UMP already holds a valid secret" };
    const objectId = run.objectId!;
    const justCreated = request.plan.changes.some((c) => c.kind === "app.create");
    const displayName = secretDisplayName(request.service, run.id);
    // Resume rule: a secret named after this run that was never recorded is an orphan of a crash.
    // Only an attempt after a crash can find one, so a first attempt does not read the app first.
    const app = ctx.resumed ? await s.directory.getApplication(objectId, { ...call, justCreated }) : null;
    for (const p of app?.passwordCredentials ?? []) {
      if (p.displayName === displayName && p.keyId !== run.newSecret?.keyId) {
        await ctx.fence();
        await s.directory.removePassword(objectId, p.keyId, call);
        // The process may have died after recording it but before the step finished.
        await forgetSecret(s.repo, request.customer, p.keyId, nowIso(s));
        await s.audit(request, "syncbot", "secret.removed", "ok", `${p.keyId} (orphan of an interrupted attempt)`);
      }
    }
    const endDateTime = addMonths(s.clock.now(), request.params.secretLifetimeMonths).toISOString();
    // Record the intent first: if the store fails right after addPassword, the secret is still
    // recognisable by this run's display name and compensation removes it.
    await ctx.fence();
    await s.repo.updateRequest(request.id, (r) =>
      r.run?.id === run.id ? { ...r, run: { ...r.run, secretIntent: { displayName, at: nowIso(s) } } } : null,
    );
    await ctx.fence();
    const secret = await s.directory.addPassword(objectId, { displayName, endDateTime }, { ...call, justCreated });
    s.held.put(run.id, secret.secretText);
    const record: SecretRecord = {
      keyId: secret.keyId,
      service: request.service,
      runId: run.id,
      displayName,
      hint: secret.hint,
      endDateTime: secret.endDateTime,
      fingerprint: fingerprintOf(secret.secretText),
      createdAt: nowIso(s),
      status: "active",
    };
    await recordSecret(s.repo, request, record, nowIso(s));
    await s.audit(
      request,
      "syncbot",
      "secret.added",
      "ok",
      `${secret.keyId} hint ${secret.hint}, expires ${secret.endDateTime}`,
    );
    return {
      status: "done",
      detail: `keyId ${secret.keyId}, expires ${secret.endDateTime.slice(0, 10)}`,
      patch: {
        newSecret: {
          keyId: secret.keyId,
          displayName,
          hint: secret.hint,
          endDateTime: secret.endDateTime,
          fingerprint: record.fingerprint,
        },
      },
    };
  },

  // A recorded secret whose value this process does not hold cannot reach UMP: remove it and redo.
  async resume(ctx) {
    if (!(await valueLost(ctx))) return "keep";
    const { services: s, request: r, run } = ctx;
    const secret = run.newSecret!;
    s.logger.info("resumed run: removing the secret whose value was lost with the previous process", {
      requestId: r.id,
      keyId: secret.keyId,
    });
    await ctx.fence();
    await s.directory.removePassword(run.objectId!, secret.keyId, { correlationId: r.correlationId });
    await forgetSecret(s.repo, r.customer, secret.keyId, nowIso(s));
    await s.audit(
      r,
      "syncbot",
      "secret.removed",
      "ok",
      `${secret.keyId} (value lost in a restart; a new one is added)`,
    );
    await s.repo.updateRequest(r.id, (cur) => {
      const { newSecret: _drop, ...rest } = cur.run!;
      return {
        ...cur,
        run: {
          ...rest,
          steps: rest.steps.map((st) => (st.name === "addSecret" ? { name: st.name, status: "pending" as const } : st)),
        },
      };
    });
    return "redo";
  },

  /** Undo what a failed run leaves half-done: a secret UMP never received must not stay in Entra. */
  async compensate(ctx, failed) {
    const { services: s, request, run } = ctx;
    const secret = run.newSecret;
    if (!secret) {
      await removeUnrecorded(ctx);
      return;
    }
    const secretDelivered =
      run.steps.find((st) => st.name === "writeUmp")?.status === "done" ||
      run.steps.find((st) => st.name === "handoff")?.status === "done";
    if (
      secretDelivered ||
      !(failed === "writeUmp" || failed === "addSecret" || failed === "verify" || failed === "handoff")
    )
      return;
    // Never remove a secret UMP holds (invariant 9): read UMP back first; unreadable → keep it.
    const umpHolds = await umpHoldsSecret(ctx, secret.fingerprint);
    if (umpHolds !== false)
      throw new SyncbotError(
        "outcome_unknown",
        umpHolds === true
          ? `UMP holds the new secret ${secret.keyId}, so it is kept.`
          : `UMP could not be read back (${umpHolds}), so the new secret ${secret.keyId} is kept.`,
      );
    try {
      await s.directory.removePassword(run.objectId!, secret.keyId, { correlationId: request.correlationId });
      await forgetSecret(s.repo, request.customer, secret.keyId, nowIso(s));
      s.held.drop(run.id);
      const where = viaUmpApi(s.options, request)
        ? "UMP read back holds the previous secret"
        : "it was never handed over";
      await s.audit(request, "syncbot", "secret.removed", "ok", `${secret.keyId} (not delivered: ${where})`);
      await s.repo.updateRequest(request.id, (r) => ({
        ...r,
        run: {
          ...r.run!,
          steps: r.run!.steps.map((st) =>
            st.name === "addSecret" ? { ...st, detail: `${st.detail ?? ""} — removed again, ${where}` } : st,
          ),
        },
      }));
    } catch (e) {
      s.logger.error("could not remove the undelivered secret; the next run or sweep removes it as an orphan", {
        requestId: request.id,
        keyId: secret.keyId,
        error: describeError(e).message,
      });
    }
  },
};

/** The run recorded a new secret whose value this process lost, and it has not reached UMP or a hand-off yet. */
async function valueLost(ctx: StepContext): Promise<boolean> {
  const { services: s, request: r, run, spec } = ctx;
  if (!run.newSecret || s.held.has(run.id)) return false;
  const api = viaUmpApi(s.options, r);
  const consumed = run.steps.find((st) => st.name === (api ? "writeUmp" : "handoff"));
  if (consumed?.status === "done" || (!api && run.handoff)) return false;
  // The process may have died after UMP applied the write but before the step was recorded: then UMP
  // already holds this secret, and replacing it would only churn a working credential.
  // A run that waits for attention is settled by its UMP step, which reads UMP back itself.
  if (run.attention?.step === "writeUmp") return false;
  if (api && s.ump) {
    let settings: UmpSettings;
    try {
      ({ settings } = await s.ump.getSettings(spec.umpInstance, { correlationId: r.correlationId }));
    } catch (e) {
      throw new SyncbotError(
        "outcome_unknown",
        `UMP could not be read back on resume (${describeError(e).message}); the secret is kept`,
      );
    }
    if (settings.syncApp.clientSecret.fingerprint === run.newSecret.fingerprint) return false;
  }
  return true;
}

/** true / false from UMP's fingerprint; in hand-off mode UMP is not syncbot's to read (false); else why unreadable. */
async function umpHoldsSecret(ctx: StepContext, fingerprint: string): Promise<boolean | string> {
  const { services: s, request, spec } = ctx;
  if (!viaUmpApi(s.options, request) || !s.ump) return false;
  try {
    const { settings } = await s.ump.getSettings(spec.umpInstance, { correlationId: request.correlationId });
    return settings.syncApp.clientSecret.fingerprint === fingerprint;
  } catch (e) {
    return describeError(e).message;
  }
}

/** addPassword may have succeeded without the run recording it (the store failed): remove what the intent names. */
async function removeUnrecorded(ctx: StepContext): Promise<void> {
  const { services: s, request, run } = ctx;
  const intent = run.secretIntent;
  if (!intent || !run.objectId) return;
  const call = { correlationId: request.correlationId };
  const app = await s.directory.getApplication(run.objectId, call);
  for (const p of app.passwordCredentials) {
    if (p.displayName !== intent.displayName) continue;
    await s.directory.removePassword(run.objectId, p.keyId, call);
    s.held.drop(run.id);
    await forgetSecret(s.repo, request.customer, p.keyId, nowIso(s));
    await s.audit(request, "syncbot", "secret.removed", "ok", `${p.keyId} (created, but the run could not record it)`);
  }
}
