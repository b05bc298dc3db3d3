// Step: write the client id, redirect URL and new secret into UMP's sync-app settings (api mode). The
// write is conditional on the ETag last read; a 412 re-reads and writes only what still differs. A
// write without a definite answer is decided by reading UMP back (invariant 9): UMP holds the new
// values → done; it does not → a failure whose compensation removes the new secret; UMP unreadable →
// outcome_unknown, and the run waits for attention with every secret kept.

import { createHash } from "node:crypto";
import { describeError, isSyncbotError, SyncbotError } from "../errors";
import type { UmpSettings, UmpSyncAppPatch } from "../ports";
import { type ProvisioningStep, type StepContext, umpSettingsFor } from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const writeUmp: ProvisioningStep = {
  name: "writeUmp",
  title: STEP_TITLES.writeUmp,
  async run(ctx) {
    const { services: s, request, run, spec, call } = ctx;
    if (!s.ump) throw new SyncbotError("config_invalid", "UMP_TARGET=api needs UMP_BASE_URL.");
    if (!request.plan.changes.some((c) => c.kind === "ump.syncApp") && !run.newSecret)
      return { status: "skipped", detail: "UMP already up to date" };
    // Settling a run that waited for attention: its write's outcome is decided by what UMP holds now.
    const settling = run.attention?.step === "writeUmp";
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { settings, etag } = await readBack(settling ? "the earlier write" : null, () => umpSettingsFor(ctx));
      const patch = differences(ctx, settings);
      if (Object.keys(patch).length === 0) {
        s.reads(run.id).ump = { settings, etag };
        return {
          status: "done",
          detail: `UMP revision ${settings.revision} ${settling ? "holds the new values (read back)" : "already holds these values"}`,
          patch: { umpRevision: settings.revision },
        };
      }
      if (settling && patch.clientSecret !== undefined)
        throw new SyncbotError(
          "upstream_failed",
          "Read back after the unanswered write: UMP still holds the previous secret, so the new one is removed again.",
          { hint: "Press Retry (or rotate again) once UMP answers normally." },
        );
      const bodyHash = createHash("sha256").update(JSON.stringify(patch)).digest("hex").slice(0, 16);
      try {
        await ctx.fence();
        const written = await s.ump.patchSyncApp(spec.umpInstance, etag, patch, `${run.id}-sync-app-${bodyHash}`, call);
        s.reads(run.id).ump = written;
        const fields = Object.keys(patch).filter((k) => k !== "clientSecretExpiresAt");
        await s.audit(
          request,
          "syncbot",
          "ump.syncApp.written",
          "ok",
          `${fields.join(", ")} → revision ${written.settings.revision}`,
        );
        return {
          status: "done",
          detail: `UMP revision ${written.settings.revision}`,
          patch: { umpRevision: written.settings.revision },
        };
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "precondition_failed" && attempt < 3) {
          await s.audit(
            request,
            "syncbot",
            "ump.syncApp.conflict",
            "info",
            "UMP settings changed meanwhile (412); re-read and re-planned",
          );
          continue;
        }
        if (!isSyncbotError(e, "outcome_unknown")) throw e;
        // Nobody knows whether UMP applied it: read back and decide from what UMP holds.
        const after = await readBack(e.message, () => s.ump!.getSettings(spec.umpInstance, call));
        if (Object.keys(differences(ctx, after.settings)).length > 0)
          throw new SyncbotError("upstream_failed", `${e.message}. Read back: UMP does not hold the new values.`, {
            hint: "Run again once UMP answers normally.",
          });
        s.reads(run.id).ump = after;
        await s.audit(
          request,
          "syncbot",
          "ump.syncApp.written",
          "ok",
          `confirmed by read-back (revision ${after.settings.revision}) after: ${e.message}`,
        );
        return {
          status: "done",
          detail: `UMP revision ${after.settings.revision} (confirmed by read-back)`,
          patch: { umpRevision: after.settings.revision },
        };
      }
    }
    throw new SyncbotError("conflict", "UMP settings kept changing while syncbot wrote them (412 three times).");
  },
};

/** What UMP must still be told: fields that differ from this run's values (the secret by fingerprint). */
function differences(ctx: StepContext, settings: UmpSettings): UmpSyncAppPatch {
  const { services: s, run, spec } = ctx;
  const patch: UmpSyncAppPatch = {};
  if (settings.syncApp.clientId !== run.appId) patch.clientId = run.appId!;
  if (settings.syncApp.redirectUri !== spec.redirectUrl) patch.redirectUri = spec.redirectUrl;
  if (run.newSecret && settings.syncApp.clientSecret.fingerprint !== run.newSecret.fingerprint) {
    const value = s.held.peek(run.id);
    // Settling without the value (a restart lost it) still needs to know that the secret differs.
    patch.clientSecret = value ?? "";
    patch.clientSecretExpiresAt = run.newSecret.endDateTime;
    if (!value && run.attention?.step !== "writeUmp")
      throw new SyncbotError("internal", "the new secret's value is no longer held; the run will add a new one");
  }
  return patch;
}

/**
 * Reads UMP; after a write whose outcome is unknown (`after` names it), a failed read leaves the
 * outcome unknown too, so the run keeps every secret and waits for attention.
 */
async function readBack<T>(after: string | null, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (after === null) throw e;
    throw new SyncbotError(
      "outcome_unknown",
      `${after}; UMP could not be read back (${describeError(e).message}), so every secret is kept`,
    );
  }
}
