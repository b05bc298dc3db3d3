// Step: remove the secrets the plan replaces (a rotated one only after its grace period, never the
// one UMP holds) and any leftover of this run's retried addPassword; the registration record follows.

import { newRegistration } from "./registrationWrites";
import { nowIso, type ProvisioningStep, secretDisplayName } from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const tidy: ProvisioningStep = {
  name: "tidy",
  title: STEP_TITLES.tidy,
  async run(ctx) {
    const { services: s, request, run, call } = ctx;
    const objectId = run.objectId!;
    const app = s.reads(run.id).app ?? (await s.directory.getApplication(objectId, call));
    const registration = await s.repo.getRegistration(request.customer);
    const recorded = new Set((registration?.secrets ?? []).map((r) => r.keyId));
    // Never remove a secret UMP holds (invariant 9), whatever the plan said when it was made.
    const umpFingerprint = registration?.ump?.fingerprint;
    const umpHolds = (keyId: string) =>
      !!umpFingerprint && registration!.secrets.some((r) => r.keyId === keyId && r.fingerprint === umpFingerprint);
    const removed: string[] = [];
    const superseded: string[] = [];
    const graceUntil = new Date(s.clock.now().getTime() + s.options.graceHours * 3_600_000).toISOString();
    for (const change of request.plan.changes) {
      if (change.kind !== "secret.remove") continue;
      if (change.keyId === run.newSecret?.keyId || umpHolds(change.keyId)) continue;
      if (change.reason === "superseded" && s.options.graceHours > 0) {
        superseded.push(change.keyId);
        continue;
      }
      await ctx.fence();
      await s.directory.removePassword(objectId, change.keyId, call);
      removed.push(change.keyId);
    }
    // Anything this run left behind that is not recorded (a retried addPassword) goes too.
    for (const p of app.passwordCredentials) {
      if (
        p.displayName === secretDisplayName(request.service, run.id) &&
        p.keyId !== run.newSecret?.keyId &&
        !recorded.has(p.keyId)
      ) {
        await ctx.fence();
        await s.directory.removePassword(objectId, p.keyId, call);
        removed.push(p.keyId);
      }
    }
    await s.repo.saveRegistration(request.customer, (cur) => {
      const base = cur ?? newRegistration(request, run, nowIso(s));
      return {
        ...base,
        params: request.params,
        objectId,
        appId: run.appId!,
        conversation: request.conversation,
        secrets: base.secrets
          .filter((r) => !removed.includes(r.keyId))
          .map((r) =>
            superseded.includes(r.keyId) ? { ...r, status: "superseded" as const, removeAfter: graceUntil } : r,
          ),
        updatedAt: nowIso(s),
      };
    });
    for (const keyId of removed) await s.audit(request, "syncbot", "secret.removed", "ok", keyId);
    for (const keyId of superseded)
      await s.audit(request, "syncbot", "secret.superseded", "ok", `${keyId} stays valid until ${graceUntil}`);
    const parts = [];
    if (removed.length) parts.push(`removed ${removed.length} secret(s)`);
    if (superseded.length) parts.push(`old secret kept until ${graceUntil.slice(0, 16).replace("T", " ")} UTC`);
    return { status: "done", detail: parts.join("; ") || "nothing to remove" };
  },
};
