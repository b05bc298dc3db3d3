// Step: read everything back (Entra, UMP) and prove the new secret with a token request; differences
// are reported on the card and stored with the registration. Reads only.

import { applicationDiff } from "../plan";
import type { CallContext, TokenProver } from "../ports";
import type { RunRecord } from "../records";
import { newRegistration } from "./registrationWrites";
import { type Attempt, stepWaitDeps, waitForReplication } from "./replicationWait";
import { nowIso, type ProvisioningStep, type StepServices, viaUmpApi } from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const verify: ProvisioningStep = {
  name: "verify",
  title: STEP_TITLES.verify,
  async run(ctx) {
    const { services: s, request, run, spec, call } = ctx;
    const differences: string[] = [];
    const justCreated = request.plan.changes.some((c) => c.kind === "app.create");
    const api = viaUmpApi(s.options, request);
    // The three read-backs are independent: run them side by side.
    const [app, umpSettings, proof] = await Promise.all([
      s.directory.getApplication(run.objectId!, { ...call, justCreated }),
      s.ump && api ? s.ump.getSettings(spec.umpInstance, call).then((r) => r.settings) : Promise.resolve(null),
      proveNewSecret(s, s.tokenProver, run, call),
    ]);
    s.reads(run.id).app = app;
    for (const d of applicationDiff(spec, app)) differences.push(`Entra ${d.field}: is ${d.from}, expected ${d.to}`);
    if (run.newSecret && !app.passwordCredentials.some((p) => p.keyId === run.newSecret!.keyId))
      differences.push(`Entra: the new secret ${run.newSecret.keyId} is missing`);
    if (umpSettings) {
      if (umpSettings.syncApp.clientId !== app.appId) differences.push("UMP client id differs from the registration");
      if (umpSettings.syncApp.redirectUri !== spec.redirectUrl) differences.push("UMP redirect URL differs");
      if (run.newSecret && umpSettings.syncApp.clientSecret.fingerprint !== run.newSecret.fingerprint)
        differences.push("UMP does not hold the new secret (fingerprint mismatch)");
      const portal = umpSettings.customerAuthenticationPortalUrl;
      if (portal.value !== spec.portalUrl || portal.validationStatus !== "Valid")
        differences.push(`UMP portal URL is ${portal.value ?? "unset"} (${portal.validationStatus})`);
    }
    const tokenProof = proof.result;
    if (proof.result === "failed")
      differences.push(`the token endpoint did not accept the new secret (${proof.error})`);
    // In api mode UMP has the secret now; in hand-off mode the next step still needs the value.
    if (api) s.held.drop(run.id);
    const verification = { ok: differences.length === 0, differences, tokenProof, at: nowIso(s) };
    await s.repo.saveRegistration(request.customer, (cur) => ({
      ...(cur ?? newRegistration(request, run, nowIso(s))),
      lastVerification: verification,
      ump: umpSettings
        ? {
            revision: umpSettings.revision,
            fingerprint: umpSettings.syncApp.clientSecret.fingerprint,
            portalValidated: umpSettings.customerAuthenticationPortalUrl.validationStatus === "Valid",
            at: nowIso(s),
          }
        : cur?.ump,
      updatedAt: nowIso(s),
    }));
    await s.audit(
      request,
      "syncbot",
      "run.verified",
      verification.ok ? "ok" : "failed",
      verification.ok ? `token proof ${tokenProof}` : differences.join("; "),
    );
    return {
      status: "done",
      detail: verification.ok ? `verified (token proof ${tokenProof})` : `differences: ${differences.join("; ")}`,
      patch: { verification, umpRevision: umpSettings?.revision ?? run.umpRevision },
    };
  },
};

// What the token endpoint answers while a new application or secret has not replicated to it yet:
// the app unknown (AADSTS700016), its service principal missing (AADSTS7000229), the new secret
// refused as invalid (AADSTS7000215) or, as observed right after a registration, as expired
// (AADSTS7000222). Anything else is a real refusal and is not waited out.
const NOT_REPLICATED = /AADSTS(700016|7000229|7000215|7000222)\b/;

/** A client-credentials token request with the new secret, retried through Entra's replication (bounded). */
async function proveNewSecret(
  s: StepServices,
  tokenProver: TokenProver,
  run: RunRecord,
  call: CallContext,
): Promise<{ result: "ok" | "failed" | "skipped"; error?: string }> {
  const value = s.held.peek(run.id);
  if (!value || !run.appId) return { result: "skipped" };
  const w = s.options.replication;
  const waited = await waitForReplication(
    w,
    stepWaitDeps({ services: s, call }, "the token endpoint does not accept the new secret yet"),
    async (): Promise<Attempt<true>> => {
      const proof = await tokenProver.proveClientSecret(run.appId!, value, call);
      if (proof.ok) return { done: true, value: true };
      const reason = proof.description ? `${proof.error}: ${proof.description}` : proof.error;
      if (!NOT_REPLICATED.test(proof.description)) throw new ProofRefused(reason);
      return { done: false, reason };
    },
  ).catch((e: unknown) => {
    if (e instanceof ProofRefused) return { ok: false as const, reason: e.message, elapsedMs: 0 };
    throw e;
  });
  return waited.ok ? { result: "ok" } : { result: "failed", error: waited.reason };
}

class ProofRefused extends Error {}
