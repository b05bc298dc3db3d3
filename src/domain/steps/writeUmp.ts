// Step: write the client id, redirect URL and new secret into UMP's sync-app settings (api mode). The
// write is conditional on the ETag last read; a 412 re-reads and writes only what still differs.

import { createHash } from "node:crypto";
import { SyncbotError } from "../errors";
import { type ProvisioningStep, umpSettingsFor } from "./stepContext";

export const writeUmp: ProvisioningStep = {
  name: "writeUmp",
  title: "UMP sync-app settings",
  async run(ctx) {
    const { services: s, request, run, spec, call } = ctx;
    if (!s.ump) throw new SyncbotError("config_invalid", "UMP_TARGET=api needs UMP_BASE_URL.");
    if (!request.plan.changes.some((c) => c.kind === "ump.syncApp") && !run.newSecret)
      return { status: "skipped", detail: "UMP already up to date" };
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { settings, etag } = await umpSettingsFor(ctx);
      const patch: Record<string, string> = {};
      if (settings.syncApp.clientId !== run.appId) patch.clientId = run.appId!;
      if (settings.syncApp.redirectUri !== spec.redirectUrl) patch.redirectUri = spec.redirectUrl;
      if (run.newSecret && settings.syncApp.clientSecret.fingerprint !== run.newSecret.fingerprint) {
        const value = s.held.peek(run.id);
        if (!value)
          throw new SyncbotError("internal", "the new secret's value is no longer held; the run will add a new one");
        patch.clientSecret = value;
        patch.clientSecretExpiresAt = run.newSecret.endDateTime;
      }
      if (Object.keys(patch).length === 0) {
        s.reads(run.id).ump = { settings, etag };
        return {
          status: "done",
          detail: `UMP revision ${settings.revision} already holds these values`,
          patch: { umpRevision: settings.revision },
        };
      }
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
        throw e;
      }
    }
    throw new SyncbotError("conflict", "UMP settings kept changing while syncbot wrote them (412 three times).");
  },
};
