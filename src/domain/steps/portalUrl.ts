// Step: set UMP's Customer Authentication Portal URL and wait for UMP to validate it (api mode). A PUT
// without a definite answer is decided by reading UMP back; UMP unreadable → the run needs attention.

import { describeError, isSyncbotError, SyncbotError } from "../errors";
import { type ProvisioningStep, umpSettingsFor } from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const portalUrl: ProvisioningStep = {
  name: "portalUrl",
  title: STEP_TITLES.portalUrl,
  async run(ctx) {
    const { services: s, request, run, spec, call } = ctx;
    if (!s.ump) throw new SyncbotError("config_invalid", "UMP_TARGET=api needs UMP_BASE_URL.");
    if (!request.plan.changes.some((c) => c.kind === "ump.portalUrl"))
      return { status: "skipped", detail: "already validated" };
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { settings, etag } = await umpSettingsFor(ctx);
      const portal = settings.customerAuthenticationPortalUrl;
      if (portal.value === spec.portalUrl && portal.validationStatus === "Valid")
        return { status: "done", detail: "validated", patch: { umpRevision: settings.revision } };
      const key = `${run.id}-portal-${attempt}`;
      const put = () => s.ump!.putPortalUrl(spec.umpInstance, etag, spec.portalUrl, key, call);
      let operationId: string;
      try {
        await ctx.fence();
        ({ operationId } = await put());
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "precondition_failed" && attempt < 3) continue;
        if (!isSyncbotError(e, "outcome_unknown")) throw e;
        // Unknown whether UMP took it: read back. Applied → the same request (same Idempotency-Key)
        // replays UMP's first answer with the operation id; not applied → submit afresh.
        const after = await s.ump.getSettings(spec.umpInstance, call).catch((r: unknown) => {
          throw new SyncbotError(
            "outcome_unknown",
            `${e.message}; UMP could not be read back (${describeError(r).message})`,
          );
        });
        if (after.settings.customerAuthenticationPortalUrl.value !== spec.portalUrl) {
          if (attempt < 3) continue;
          throw new SyncbotError("upstream_failed", `${e.message}. Read back: UMP did not take the portal URL.`);
        }
        ({ operationId } = await put());
      }
      for (let poll = 0; poll < s.options.operationPollAttempts; poll++) {
        const op = await s.ump.getOperation(operationId, call);
        if (op.status === "CompletedSuccess") {
          await s.audit(request, "syncbot", "ump.portalUrl.validated", "ok", spec.portalUrl);
          // The revision after this write is read by the verification step, which reads UMP anyway.
          return { status: "done", detail: "validated" };
        }
        if (op.status === "CompletedFailed")
          throw new SyncbotError(
            "upstream_rejected",
            `UMP could not validate the portal URL: ${op.executionMessages.join("; ") || "no reason given"}`,
            {
              hint: `Check that ${spec.portalUrl} resolves and serves the UMP authentication page, then run provision again.`,
            },
          );
        await s.sleep(s.options.operationPollMs);
      }
      throw new SyncbotError("upstream_failed", "UMP did not finish validating the portal URL in time.", {
        hint: "Run provision again later; the step resumes.",
      });
    }
    throw new SyncbotError("conflict", "UMP settings kept changing while syncbot wrote the portal URL.");
  },
};
