// The end of a hand-off: the operator confirms the values are in UMP (the run continues), or the
// one-time link expires unopened (its secret is destroyed and removed from Entra, the run fails).

import { type ApproverCredential, createStepUp, describeProof, proofOf, type StepUp } from "../approverProof";
import type { Clock, Directory } from "../ports";
import type { Actor, RequestRecord, RunRecord } from "../records";
import type { Repository } from "../repository";
import { forgetSecret } from "../steps/registrationWrites";
import type { AuditTrail } from "./createAuditTrail";
import type { ActionOutcome } from "./createRequestLifecycle";

export interface HandoffConfirmationDeps {
  directory: Directory;
  repo: Repository;
  clock: Clock;
  audit: AuditTrail;
  notify: (request: RequestRecord) => void;
  execute: (requestId: string) => Promise<RequestRecord>;
  finish: (request: RequestRecord, state: "failed", error: RunRecord["error"]) => Promise<RequestRecord>;
  /** Applied in UMP is an approving action (invariant 13): the operator's own fresh sign-in, when required. */
  stepUp?: StepUp;
}

export function createHandoffConfirmation(deps: HandoffConfirmationDeps) {
  const { directory, repo, clock, audit, notify } = deps;
  const nowIso = () => clock.now().toISOString();

  /**
   * Hand-off links that expired unopened: the sealed secret is destroyed, and since nobody ever saw it
   * the secret is removed from Entra and the run fails, so no unusable secret stays behind. A link that
   * was opened keeps its run waiting for "Applied in UMP" (the operator has the values).
   */
  async function expireHandoffs(): Promise<number> {
    const now = clock.now().getTime();
    let expired = 0;
    for (const h of await repo.listHandoffs()) {
      if (!h.sealed || Date.parse(h.expiresAt) > now) continue;
      await repo.destroyHandoff(h.tokenHash);
      expired++;
      const request = await repo.getRequest(h.requestId);
      const run = request?.run;
      if (
        request?.state !== "running" ||
        !run?.handoff ||
        run.handoff.appliedAt ||
        run.handoff.tokenHash !== h.tokenHash
      )
        continue;
      if (run.newSecret && run.objectId) {
        await directory.removePassword(run.objectId, run.newSecret.keyId, { correlationId: request.correlationId });
        await forgetSecret(repo, request.customer, run.newSecret.keyId, nowIso());
        await audit(
          request,
          "syncbot",
          "secret.removed",
          "ok",
          `${run.newSecret.keyId} (hand-off link expired unopened)`,
        );
      }
      await repo.updateRequest(request.id, (r) => ({
        ...r,
        run: {
          ...r.run!,
          steps: r.run!.steps.map((st) =>
            st.name === "handoff" ? { ...st, status: "failed" as const, finishedAt: nowIso() } : st,
          ),
        },
      }));
      await deps.finish((await repo.getRequest(request.id))!, "failed", {
        step: "handoff",
        code: "expired",
        message: "The one-time link expired before anyone opened it; its secret was destroyed and removed from Entra.",
        hint: `Ask again (${request.kind === "rotate" ? `rotate ${request.customer}` : `provision ${request.customer}`}) and open the new link before it expires.`,
      });
      await repo.releaseLock(request.customer, request.id);
    }
    return expired;
  }

  /** Hand-off mode: the operator confirms the values are in UMP; the run continues with tidy. */
  async function handoffApplied(
    requestId: string,
    actor: Actor,
    credential?: ApproverCredential,
  ): Promise<ActionOutcome> {
    const request = await repo.getRequest(requestId);
    if (!request?.run?.handoff) return { ok: false, reason: "No hand-off is waiting for this request.", request };
    if (request.run.handoff.appliedAt) return { ok: false, reason: "Already confirmed.", request };
    // Only the operator the link was sent to, and only once they revealed the values: a confirmation by
    // anyone else, or before the reveal, would move the run on while UMP cannot hold the new secret.
    const link = (await repo.getHandoff(request.run.handoff.tokenHash))?.value;
    if (!link || link.operatorId.toLowerCase() !== actor.id.toLowerCase())
      return { ok: false, reason: "Only the operator the hand-off link was sent to can confirm it.", request };
    if (!link.revealedAt)
      return {
        ok: false,
        reason: "Open the hand-off link and press Reveal first, then apply the values in UMP.",
        request,
      };
    const stepUp = await (deps.stepUp ?? createStepUp(false)).check(credential, actor.id);
    if (!stepUp.ok) return { ok: false, reason: stepUp.reason, request, code: stepUp.code };
    const at = nowIso();
    const result = await repo.updateRequest(requestId, (r) =>
      r.run?.handoff && !r.run.handoff.appliedAt
        ? {
            ...r,
            run: {
              ...r.run,
              handoff: { ...r.run.handoff, appliedBy: { ...actor, ...proofOf(stepUp.proof) }, appliedAt: at },
              steps: r.run.steps.map((s) =>
                s.name === "handoff"
                  ? { ...s, status: "done" as const, finishedAt: at, detail: `applied in UMP by ${actor.name}` }
                  : s,
              ),
            },
          }
        : null,
    );
    if (!result?.changed) return { ok: false, reason: "Already confirmed.", request: result?.value ?? request };
    await audit(
      result.value,
      actor.name,
      "handoff.applied",
      "ok",
      `confirmed at ${at}; ${describeProof(stepUp.proof)}`,
    );
    notify(result.value);
    void deps.execute(requestId).catch(() => undefined);
    return { ok: true, request: result.value };
  }

  return { expireHandoffs, handoffApplied };
}
