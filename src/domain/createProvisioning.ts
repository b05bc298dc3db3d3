// The life of a request (DOMAIN.md): plan from live state, approval, and the durable run that applies
// it step by step. Each step records its outcome before the next starts, so a run killed at any point
// resumes where it stopped. The new secret's value lives only in this process's memory between
// Graph's addPassword answer and UMP (or the sealed hand-off); it is never stored, logged or posted.

import { createHash, randomUUID } from "node:crypto";
import { type ApproverRules, checkEligibility, precheckApproval } from "./approval";
import { describeError, SyncbotError } from "./errors";
import {
  applicationDiff,
  describeChange,
  desiredApplicationFields,
  type LiveState,
  type Plan,
  planCovers,
  planProvisioning,
} from "./plan";
import type {
  CallContext,
  Clock,
  Directory,
  LiveApplication,
  Logger,
  RetryNotice,
  TokenProver,
  UmpSettings,
  UmpSettingsApi,
} from "./ports";
import type {
  Actor,
  ConversationRef,
  RegistrationRecord,
  RequestRecord,
  RunRecord,
  SecretRecord,
  StepName,
  StepRecord,
} from "./records";
import type { Repository } from "./repository";
import {
  addMonths,
  buildSpec,
  DEFAULT_SERVICE,
  isServiceName,
  type ProvisionParameters,
  REQUIRED_SCOPES,
  type Spec,
} from "./spec";

export interface HandoffPort {
  /** Seals the values, stores them and sends the operator a one-time link; resolves the link's expiry. */
  offer(input: {
    request: RequestRecord;
    operator: Actor;
    values: { clientId: string; clientSecret: string; redirectUrl: string; portalUrl: string; expiresAt: string };
  }): Promise<{ tokenHash: string; expiresAt: string }>;
}

export interface ProvisioningOptions extends ApproverRules {
  tenantId: string;
  umpTarget: "api" | "handoff";
  approvalTtlHours: number;
  /** How long a replaced secret stays valid after a rotation. */
  graceHours: number;
  /** How long a run's claim holds without a heartbeat before another process may resume it. */
  leaseMs: number;
  /** Token requests with the new secret: attempts and delay, to ride out Entra's propagation delay. */
  proofAttempts: number;
  proofDelayMs: number;
  /** UMP portal validation polling. */
  operationPollMs: number;
  operationPollAttempts: number;
}

export interface ProvisioningDeps {
  directory: Directory;
  ump: UmpSettingsApi | null;
  tokenProver: TokenProver;
  repo: Repository;
  clock: Clock;
  logger: Logger;
  options: ProvisioningOptions;
  handoff?: HandoffPort;
  /** Called after every persisted change of a request (the bot updates the card). */
  onChange?: (request: RequestRecord) => void;
  sleep?: (ms: number) => Promise<void>;
}

export type ReviewOutcome =
  | { kind: "planned"; request: RequestRecord }
  | { kind: "nothing-to-do"; spec: Spec; registration: RegistrationRecord | null }
  | { kind: "invalid"; errors: Partial<Record<keyof ProvisionParameters, string>> }
  | { kind: "busy"; reason: string };

export type ActionOutcome =
  | { ok: true; request: RequestRecord }
  | { ok: false; reason: string; request: RequestRecord | null };

const STEP_ORDER: Record<"api" | "handoff", StepName[]> = {
  api: ["upsertApplication", "addSecret", "writeUmp", "portalUrl", "verify", "tidy"],
  handoff: ["upsertApplication", "addSecret", "verify", "handoff", "tidy"],
};

export const STEP_TITLES: Record<StepName, string> = {
  upsertApplication: "Entra app registration",
  addSecret: "Client secret",
  writeUmp: "UMP sync-app settings",
  handoff: "Hand-off to operator",
  portalUrl: "UMP Authentication Portal URL",
  verify: "Verification",
  tidy: "Tidy old secrets",
};

export const secretDisplayName = (service: string, runId: string) => `syncbot:${service}:${runId}`;
export const fingerprintOf = (secret: string) =>
  `sha256:${createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 16)}`;

export type Provisioning = ReturnType<typeof createProvisioning>;

export function createProvisioning(deps: ProvisioningDeps) {
  const { directory, ump, tokenProver, repo, clock, options } = deps;
  const log = deps.logger;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const instanceId = randomUUID();
  // The only place a secret value is held: keyed by run id, dropped when the run no longer needs it.
  const heldSecrets = new Map<string, string>();
  const activeRuns = new Map<string, Promise<RequestRecord>>();
  const nowIso = () => clock.now().toISOString();

  const notify = (r: RequestRecord) => {
    try {
      deps.onChange?.(r);
    } catch (e) {
      log.warn("card update hook failed", { requestId: r.id, error: describeError(e).message });
    }
  };

  async function audit(
    r: RequestRecord,
    actor: string,
    action: string,
    outcome: "ok" | "refused" | "failed" | "info",
    detail?: string,
  ) {
    await repo.audit({
      at: nowIso(),
      customer: r.customer,
      actor,
      action,
      outcome,
      correlationId: r.correlationId,
      requestId: r.id,
      detail,
    });
  }

  async function readLive(spec: Spec, ctx: CallContext, runId?: string): Promise<LiveState> {
    const [app, umpRead, registration] = await Promise.all([
      directory.getApplicationByUniqueName(spec.uniqueName, ctx),
      ump && options.umpTarget === "api" ? ump.getSettings(spec.umpInstance, ctx) : Promise.resolve(null),
      repo.getRegistration(spec.customer),
    ]);
    if (runId && umpRead) reads(runId).ump = umpRead;
    return { app, ump: umpRead?.settings ?? null, recorded: registration?.secrets ?? [] };
  }

  // What a run read or was answered last, kept in this process only, so the next step does not read it
  // again: the UMP settings with their ETag (a stale one costs a 412 and a re-read, never a lost
  // update) and the application as verification read it. A resumed run starts without them.
  type RunReads = { ump?: { settings: UmpSettings; etag: string }; app?: LiveApplication };
  const runReads = new Map<string, RunReads>();
  function reads(runId: string): RunReads {
    const known = runReads.get(runId);
    if (known) return known;
    const fresh: RunReads = {};
    runReads.set(runId, fresh);
    return fresh;
  }
  /** The UMP settings this run last saw, once (a retry after 412 must read afresh). */
  async function umpSettingsFor(runId: string, instance: string, ctx: CallContext) {
    const cached = reads(runId).ump;
    reads(runId).ump = undefined;
    return cached ?? (await ump!.getSettings(instance, ctx));
  }

  async function checkScopes(ctx: CallContext) {
    const scopes = await directory.getGraphDelegatedScopes(ctx);
    const missing = REQUIRED_SCOPES.filter((s) => scopes.get(s.value) !== s.id);
    if (missing.length > 0)
      throw new SyncbotError(
        "upstream_rejected",
        `Microsoft Graph in this tenant does not publish the expected delegated permissions: ${missing.map((m) => m.value).join(", ")}.`,
      );
  }

  /** Review plan: reads live state and stores a request in state `planned`. Nothing is written upstream. */
  async function review(input: {
    params: ProvisionParameters;
    kind: Plan["kind"];
    service?: string;
    requester: Actor;
    tenantId: string;
    conversation: ConversationRef;
  }): Promise<ReviewOutcome> {
    const correlationId = randomUUID();
    const ctx: CallContext = { correlationId };
    const spec = buildSpec(input.params);
    const service = input.service ?? DEFAULT_SERVICE;
    if (!isServiceName(service))
      throw new SyncbotError("validation_failed", "A service name is 1-32 lower-case letters, digits or hyphens.");
    // Only the "ump" service's secret has a place in UMP; any other service's secret is handed over.
    if ((service !== DEFAULT_SERVICE || options.umpTarget === "handoff") && !deps.handoff)
      throw new SyncbotError(
        "config_invalid",
        `Handing over the "${service}" secret needs HANDOFF_KEY (hand-off links); nothing was changed.`,
      );
    await checkScopes(ctx);
    let live: LiveState;
    try {
      live = await readLive(spec, ctx);
    } catch (e) {
      if (e instanceof SyncbotError && e.code === "not_found")
        return { kind: "invalid", errors: { umpInstance: `UMP does not know the instance "${spec.umpInstance}".` } };
      throw e;
    }
    // One customer, one registration: an app name already used by another customer's registration is refused.
    const others = (await repo.listRegistrations()).filter(
      (r) =>
        r.customer !== spec.customer &&
        r.params.appName === spec.appName &&
        r.params.serviceProviderFqdn === spec.serviceProviderFqdn,
    );
    if (others.length > 0)
      return {
        kind: "invalid",
        errors: {
          appName: `https://${spec.appName}.${spec.serviceProviderFqdn} already serves customer ${others[0]!.customer}.`,
        },
      };
    const now = clock.now();
    const plan = planProvisioning(spec, live, {
      kind: input.kind,
      service: input.service,
      umpApi: options.umpTarget === "api",
      now,
    });
    if (plan.changes.length === 0)
      return { kind: "nothing-to-do", spec, registration: await repo.getRegistration(spec.customer) };
    const request: RequestRecord = {
      id: randomUUID(),
      customer: spec.customer,
      kind: input.kind,
      params: input.params,
      service: plan.service,
      state: "planned",
      requester: input.requester,
      tenantId: input.tenantId,
      conversation: input.conversation,
      plan,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + options.approvalTtlHours * 3_600_000).toISOString(),
      correlationId,
    };
    await repo.createRequest(request);
    await audit(
      request,
      input.requester.name,
      `${input.kind}.requested`,
      "ok",
      `${plan.changes.length} change(s), plan ${plan.hash.slice(0, 12)}`,
    );
    return { kind: "planned", request };
  }

  async function attachCard(requestId: string, activityId: string) {
    await repo.updateRequest(requestId, (r) =>
      r.cardActivityId === activityId ? null : { ...r, cardActivityId: activityId },
    );
  }

  /** Approve: every check against the stored request, then one compare-and-set planned → approved. */
  async function approve(requestId: string, actor: Actor, cardPlanHash?: unknown): Promise<ActionOutcome> {
    const request = await repo.getRequest(requestId);
    if (!request) return { ok: false, reason: "This request is unknown to syncbot.", request: null };
    resumeIfStale(request);
    const pre = precheckApproval(request, actor, options, clock.now(), cardPlanHash);
    if (!pre.ok) {
      let current = request;
      if (pre.code === "expired") current = (await expire(request)) ?? request;
      if (pre.code !== "conflict") await audit(request, actor.name, "approval.refused", "refused", pre.reason);
      return { ok: false, reason: pre.reason, request: current };
    }
    const eligibility = await checkEligibility(actor, options, (id) =>
      directory.isGlobalAdministrator(id, { correlationId: request.correlationId }),
    );
    if (!eligibility.eligible) {
      await audit(request, actor.name, "approval.refused", "refused", eligibility.reason);
      return { ok: false, reason: eligibility.reason, request };
    }
    const at = nowIso();
    const result = await repo.updateRequest(requestId, (r) =>
      r.state === "planned" && Date.parse(r.expiresAt) > clock.now().getTime()
        ? { ...r, state: "approved", approver: { ...actor, via: eligibility.via, at } }
        : null,
    );
    if (!result?.changed) {
      const current = result?.value ?? request;
      return { ok: false, reason: `This request is already ${current.state}; nothing was changed.`, request: current };
    }
    await audit(
      result.value,
      actor.name,
      "approval.approved",
      "ok",
      `via ${eligibility.via}; plan ${request.plan.hash.slice(0, 12)}`,
    );
    notify(result.value);
    return { ok: true, request: result.value };
  }

  async function reject(requestId: string, actor: Actor): Promise<ActionOutcome> {
    const request = await repo.getRequest(requestId);
    if (!request) return { ok: false, reason: "This request is unknown to syncbot.", request: null };
    resumeIfStale(request);
    // Rejecting needs no approver role: the requester may withdraw, and any colleague may stop a change.
    const result = await repo.updateRequest(requestId, (r) =>
      r.state === "planned" ? { ...r, state: "rejected", rejectedBy: { ...actor, at: nowIso() } } : null,
    );
    if (!result?.changed) {
      const current = result?.value ?? request;
      return { ok: false, reason: `This request is already ${current.state}; nothing was changed.`, request: current };
    }
    await audit(result.value, actor.name, "request.rejected", "ok");
    notify(result.value);
    return { ok: true, request: result.value };
  }

  async function expire(request: RequestRecord): Promise<RequestRecord | null> {
    const result = await repo.updateRequest(request.id, (r) =>
      r.state === "planned" ? { ...r, state: "expired" } : null,
    );
    if (result?.changed) {
      await audit(result.value, "syncbot", "request.expired", "info");
      notify(result.value);
    }
    return result?.value ?? null;
  }

  // ------------------------------------------------------------------------------------------------
  // The run.

  /** Starts (or resumes) the run of an approved request; one in-flight execution per request per process. */
  function execute(requestId: string): Promise<RequestRecord> {
    const inFlight = activeRuns.get(requestId);
    if (inFlight) return inFlight;
    const p = executeOnce(requestId).finally(() => activeRuns.delete(requestId));
    activeRuns.set(requestId, p);
    return p;
  }

  async function executeOnce(requestId: string): Promise<RequestRecord> {
    const claimed = await claimRun(requestId);
    if (!claimed) return (await repo.getRequest(requestId))!;
    let request = claimed;
    const lock = await repo.acquireLock(
      {
        customer: request.customer,
        requestId,
        owner: instanceId,
        until: new Date(clock.now().getTime() + options.leaseMs).toISOString(),
      },
      clock.now(),
    );
    if (!lock.ok) {
      return finish(request, "failed", {
        step: "upsertApplication",
        code: "conflict",
        message: `Another run for ${request.customer} is in progress (request ${lock.holder.requestId.slice(0, 8)}). Nothing was changed; press Review plan again when it has finished.`,
      });
    }
    const heartbeat = setInterval(
      () => {
        void renewLease(requestId).catch(() => undefined);
      },
      Math.max(200, Math.floor(options.leaseMs / 3)),
    );
    heartbeat.unref?.();
    // A run some step of which already started before this execution was interrupted by a crash.
    const resumedRun = request.run!.steps.some((s) => s.status !== "pending");
    try {
      const spec = buildSpec(request.params);
      for (const name of stepsFor(request)) {
        request = (await repo.getRequest(requestId))!;
        const step = request.run!.steps.find((s) => s.name === name)!;
        if (step.status === "done" || step.status === "skipped") {
          // A recorded secret whose value this process does not hold cannot reach UMP: redo it.
          if (name === "addSecret" && (await needsSecretRedo(request, spec))) {
            request = await discardUnheldSecret(request);
          } else continue;
        }
        if (request.state !== "running") return request;
        if (name === "handoff" && step.status === "running" && request.run?.handoff) {
          // Waiting for the operator: the run continues when they press Applied in UMP.
          return request;
        }
        // A step already marked running was interrupted (crash): it resumes under the resume rules.
        const interrupted = step.status === "running";
        request = await setStep(requestId, name, { status: "running", startedAt: nowIso() });
        try {
          const outcome = await runStep(name, request, spec, interrupted, interrupted || resumedRun);
          request = await setStep(
            requestId,
            name,
            { status: outcome.status, finishedAt: outcome.pause ? undefined : nowIso(), detail: outcome.detail },
            outcome.patch,
          );
          await audit(request, "syncbot", `step.${name}`, "ok", outcome.detail);
          if (outcome.pause) return request;
        } catch (e) {
          const d = describeError(e);
          log.warn("run step failed", {
            requestId,
            step: name,
            code: d.code,
            error: d.message,
            correlationId: request.correlationId,
          });
          request = await setStep(requestId, name, { status: "failed", finishedAt: nowIso(), detail: d.message });
          await compensate(request, name);
          request = (await repo.getRequest(requestId))!;
          return await finish(request, "failed", { step: name, code: d.code, message: d.message, hint: d.hint });
        }
      }
      return await finish(request, "succeeded");
    } finally {
      clearInterval(heartbeat);
      const after = await repo.getRequest(requestId);
      if (after && after.state !== "running") {
        await repo.releaseLock(after.customer, requestId);
        if (after.run) {
          heldSecrets.delete(after.run.id);
          runReads.delete(after.run.id);
        }
      }
    }
  }

  async function needsSecretRedo(r: RequestRecord, spec: Spec): Promise<boolean> {
    const run = r.run!;
    if (!run.newSecret || heldSecrets.has(run.id)) return false;
    const consumer: StepName = viaUmpApi(r) ? "writeUmp" : "handoff";
    const consumed = run.steps.find((s) => s.name === consumer);
    if (consumed?.status === "done" || (consumer === "handoff" && run.handoff)) return false;
    // The process may have died after UMP applied the write but before the step was recorded: then UMP
    // already holds this secret, and replacing it would only churn a working credential.
    if (viaUmpApi(r) && ump) {
      const { settings } = await ump.getSettings(spec.umpInstance, { correlationId: r.correlationId });
      if (settings.syncApp.clientSecret.fingerprint === run.newSecret.fingerprint) return false;
    }
    return true;
  }

  async function discardUnheldSecret(r: RequestRecord): Promise<RequestRecord> {
    const run = r.run!;
    const secret = run.newSecret!;
    log.info("resumed run: removing the secret whose value was lost with the previous process", {
      requestId: r.id,
      keyId: secret.keyId,
    });
    await directory.removePassword(run.objectId!, secret.keyId, { correlationId: r.correlationId });
    await forgetSecret(r.customer, secret.keyId);
    await audit(r, "syncbot", "secret.removed", "ok", `${secret.keyId} (value lost in a restart; a new one is added)`);
    const updated = await repo.updateRequest(r.id, (cur) => {
      const { newSecret: _drop, ...rest } = cur.run!;
      return {
        ...cur,
        run: {
          ...rest,
          steps: rest.steps.map((s) => (s.name === "addSecret" ? { name: s.name, status: "pending" as const } : s)),
        },
      };
    });
    return updated!.value;
  }

  async function claimRun(requestId: string): Promise<RequestRecord | null> {
    const now = clock.now();
    const until = new Date(now.getTime() + options.leaseMs).toISOString();
    const result = await repo.updateRequest(requestId, (r) => {
      if (r.state === "approved") {
        const runId = randomUUID();
        const run: RunRecord = {
          id: runId,
          startedAt: now.toISOString(),
          owner: instanceId,
          leaseUntil: until,
          steps: stepsFor(r).map((name) => ({ name, status: "pending" })),
        };
        return { ...r, state: "running", run };
      }
      if (
        r.state === "running" &&
        r.run &&
        (r.run.owner === instanceId || Date.parse(r.run.leaseUntil) <= now.getTime())
      )
        return { ...r, run: { ...r.run, owner: instanceId, leaseUntil: until } };
      return null;
    });
    if (!result?.changed) return null;
    const resumed = result.value.run!.steps.some((s) => s.status !== "pending");
    await audit(
      result.value,
      "syncbot",
      resumed ? "run.resumed" : "run.started",
      "info",
      `run ${result.value.run!.id}`,
    );
    notify(result.value);
    return result.value;
  }

  async function renewLease(requestId: string) {
    await repo.updateRequest(requestId, (r) =>
      r.state === "running" && r.run?.owner === instanceId
        ? { ...r, run: { ...r.run, leaseUntil: new Date(clock.now().getTime() + options.leaseMs).toISOString() } }
        : null,
    );
  }

  async function setStep(
    requestId: string,
    name: StepName,
    step: Partial<StepRecord>,
    runPatch: Partial<RunRecord> = {},
  ): Promise<RequestRecord> {
    const result = await repo.updateRequest(requestId, (r) => ({
      ...r,
      run: {
        ...r.run!,
        ...runPatch,
        waiting: undefined,
        leaseUntil: new Date(clock.now().getTime() + options.leaseMs).toISOString(),
        steps: r.run!.steps.map((s) => (s.name === name ? { ...s, ...step } : s)),
      },
    }));
    notify(result!.value);
    return result!.value;
  }

  async function finish(
    request: RequestRecord,
    state: "succeeded" | "failed",
    error?: RunRecord["error"],
  ): Promise<RequestRecord> {
    const result = await repo.updateRequest(request.id, (r) =>
      r.state === "running" || r.state === "approved"
        ? { ...r, state, run: r.run ? { ...r.run, finishedAt: nowIso(), waiting: undefined, error } : r.run }
        : null,
    );
    const final = result?.value ?? request;
    await audit(
      final,
      "syncbot",
      `run.${state}`,
      state === "succeeded" ? "ok" : "failed",
      error ? `${error.step}: ${error.message}` : undefined,
    );
    log.info("run finished", {
      requestId: request.id,
      customer: request.customer,
      state,
      correlationId: request.correlationId,
    });
    notify(final);
    return final;
  }

  function ctxFor(request: RequestRecord, step: StepName): CallContext {
    return {
      correlationId: request.correlationId,
      onRetry: (n: RetryNotice) => {
        const note =
          n.status === 404
            ? `waiting for the new application to replicate, retry ${n.attempt} of ${n.maxAttempts}`
            : `waiting for ${n.service === "graph" ? "Graph" : "UMP"} (HTTP ${n.status}), retry ${n.attempt} of ${n.maxAttempts}`;
        void repo
          .updateRequest(request.id, (r) =>
            r.run
              ? {
                  ...r,
                  run: {
                    ...r.run,
                    waiting: note,
                    steps: r.run.steps.map((s) => (s.name === step ? { ...s, detail: note } : s)),
                  },
                }
              : null,
          )
          .then((res) => res && notify(res.value))
          .catch(() => undefined);
      },
    };
  }

  interface StepOutcome {
    status: "done" | "skipped" | "running";
    detail?: string;
    patch?: Partial<RunRecord>;
    /** The run waits for someone (hand-off): stop here, stay `running`. */
    pause?: boolean;
  }

  async function runStep(
    name: StepName,
    request: RequestRecord,
    spec: Spec,
    interrupted = false,
    resumed = interrupted,
  ): Promise<StepOutcome> {
    const ctx = ctxFor(request, name);
    const run = request.run!;
    const has = (kind: string) => request.plan.changes.some((c) => c.kind === kind);
    switch (name) {
      case "upsertApplication": {
        const live = await readLive(spec, ctx, run.id);
        const fresh = run.steps.every((s) => s.status === "pending" || s.name === "upsertApplication");
        if (fresh && !run.objectId) {
          // Invariant 2: the approval covers exactly the plan it was given for.
          const now = planProvisioning(spec, live, {
            kind: request.kind,
            service: request.service,
            umpApi: options.umpTarget === "api",
            now: clock.now(),
          });
          // A resumed upsert finds its own half-done work (the app it created, the fields it set): it may
          // finish what the approved plan contains, nothing more.
          if (now.hash !== request.plan.hash && !(interrupted && planCovers(request.plan, now)))
            throw new SyncbotError(
              "plan_changed",
              "The registration or UMP changed since this plan was approved, so nothing was applied. Press Review plan again for a new plan and approval.",
            );
        }
        if (!live.app) {
          const created = await directory.upsertApplication(spec.uniqueName, desiredApplicationFields(spec, null), ctx);
          const app = created.application ?? (await directory.getApplicationByUniqueName(spec.uniqueName, ctx));
          if (!app)
            throw new SyncbotError("upstream_failed", "Graph created the application but does not return it yet.");
          return { status: "done", detail: `created app ${app.appId}`, patch: { objectId: app.id, appId: app.appId } };
        }
        const diff = applicationDiff(spec, live.app);
        if (diff.length > 0) {
          await directory.upsertApplication(spec.uniqueName, desiredApplicationFields(spec, live.app), ctx);
          return {
            status: "done",
            detail: `updated ${diff.map((d) => d.field).join(", ")}`,
            patch: { objectId: live.app.id, appId: live.app.appId },
          };
        }
        return { status: "done", detail: "already matches", patch: { objectId: live.app.id, appId: live.app.appId } };
      }

      case "addSecret": {
        if (!has("secret.add")) return { status: "skipped", detail: "UMP already holds a valid secret" };
        const objectId = run.objectId!;
        const justCreated = request.plan.changes.some((c) => c.kind === "app.create");
        const displayName = secretDisplayName(request.service, run.id);
        // Resume rule: a secret named after this run that was never recorded is an orphan of a crash.
        // Only an attempt after a crash can find one, so a first attempt does not read the app first.
        const app = resumed ? await directory.getApplication(objectId, { ...ctx, justCreated }) : null;
        for (const p of app?.passwordCredentials ?? []) {
          if (p.displayName === displayName && p.keyId !== run.newSecret?.keyId) {
            await directory.removePassword(objectId, p.keyId, ctx);
            // The process may have died after recording it but before the step finished.
            await forgetSecret(request.customer, p.keyId);
            await audit(request, "syncbot", "secret.removed", "ok", `${p.keyId} (orphan of an interrupted attempt)`);
          }
        }
        const lifetime = request.params.secretLifetimeMonths;
        const endDateTime = addMonths(clock.now(), lifetime).toISOString();
        const secret = await directory.addPassword(objectId, { displayName, endDateTime }, { ...ctx, justCreated });
        heldSecrets.set(run.id, secret.secretText);
        const record: SecretRecord = {
          keyId: secret.keyId,
          service: request.service,
          runId: run.id,
          displayName,
          hint: secret.hint,
          endDateTime: secret.endDateTime,
          fingerprint: fingerprintOf(secret.secretText),
          createdAt: nowIso(),
          status: "active",
        };
        await recordSecret(request, spec, record);
        await audit(
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
      }

      case "writeUmp": {
        if (!ump) throw new SyncbotError("config_invalid", "UMP_TARGET=api needs UMP_BASE_URL.");
        if (!has("ump.syncApp") && !run.newSecret) return { status: "skipped", detail: "UMP already up to date" };
        return await writeUmp(request, spec, ctx);
      }

      case "portalUrl": {
        if (!ump) throw new SyncbotError("config_invalid", "UMP_TARGET=api needs UMP_BASE_URL.");
        if (!has("ump.portalUrl")) return { status: "skipped", detail: "already validated" };
        return await setPortalUrl(request, spec, ctx);
      }

      case "handoff": {
        if (!run.newSecret) return { status: "skipped", detail: "no new secret to hand over" };
        if (!deps.handoff) throw new SyncbotError("config_invalid", "Handing over a secret needs HANDOFF_KEY.");
        const value = heldSecrets.get(run.id);
        if (!value) throw new SyncbotError("internal", "the new secret's value is no longer held; run again");
        const offered = await deps.handoff.offer({
          request,
          operator: request.approver ?? request.requester,
          values: {
            clientId: run.appId!,
            clientSecret: value,
            redirectUrl: spec.redirectUrl,
            portalUrl: spec.portalUrl,
            expiresAt: run.newSecret.endDateTime,
          },
        });
        heldSecrets.delete(run.id);
        await audit(
          request,
          "syncbot",
          "handoff.offered",
          "ok",
          `link sent to ${(request.approver ?? request.requester).name}, expires ${offered.expiresAt}`,
        );
        return {
          status: "running",
          pause: true,
          detail: `waiting for ${(request.approver ?? request.requester).name} to apply the values in UMP (link valid until ${offered.expiresAt.slice(11, 16)} UTC)`,
          patch: { handoff: { tokenHash: offered.tokenHash, expiresAt: offered.expiresAt } },
        };
      }

      case "verify":
        return await verify(request, spec, ctx);

      case "tidy":
        return await tidy(request, ctx);
    }
  }

  async function writeUmp(request: RequestRecord, spec: Spec, ctx: CallContext): Promise<StepOutcome> {
    const run = request.run!;
    // 412 means someone changed the settings since we read them: re-read and write only what still differs.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { settings, etag } = await umpSettingsFor(run.id, spec.umpInstance, ctx);
      const patch: Record<string, string> = {};
      if (settings.syncApp.clientId !== run.appId) patch.clientId = run.appId!;
      if (settings.syncApp.redirectUri !== spec.redirectUrl) patch.redirectUri = spec.redirectUrl;
      if (run.newSecret && settings.syncApp.clientSecret.fingerprint !== run.newSecret.fingerprint) {
        const value = heldSecrets.get(run.id);
        if (!value)
          throw new SyncbotError("internal", "the new secret's value is no longer held; the run will add a new one");
        patch.clientSecret = value;
        patch.clientSecretExpiresAt = run.newSecret.endDateTime;
      }
      if (Object.keys(patch).length === 0) {
        reads(run.id).ump = { settings, etag };
        return {
          status: "done",
          detail: `UMP revision ${settings.revision} already holds these values`,
          patch: { umpRevision: settings.revision },
        };
      }
      const bodyHash = createHash("sha256").update(JSON.stringify(patch)).digest("hex").slice(0, 16);
      try {
        const written = await ump!.patchSyncApp(spec.umpInstance, etag, patch, `${run.id}-sync-app-${bodyHash}`, ctx);
        reads(run.id).ump = written;
        const fields = Object.keys(patch).filter((k) => k !== "clientSecretExpiresAt");
        await audit(
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
          await audit(
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
  }

  async function setPortalUrl(request: RequestRecord, spec: Spec, ctx: CallContext): Promise<StepOutcome> {
    const run = request.run!;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { settings, etag } = await umpSettingsFor(run.id, spec.umpInstance, ctx);
      const portal = settings.customerAuthenticationPortalUrl;
      if (portal.value === spec.portalUrl && portal.validationStatus === "Valid")
        return { status: "done", detail: "validated", patch: { umpRevision: settings.revision } };
      let operationId: string;
      try {
        ({ operationId } = await ump!.putPortalUrl(
          spec.umpInstance,
          etag,
          spec.portalUrl,
          `${run.id}-portal-${attempt}`,
          ctx,
        ));
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "precondition_failed" && attempt < 3) continue;
        throw e;
      }
      for (let poll = 0; poll < options.operationPollAttempts; poll++) {
        const op = await ump!.getOperation(operationId, ctx);
        if (op.status === "CompletedSuccess") {
          await audit(request, "syncbot", "ump.portalUrl.validated", "ok", spec.portalUrl);
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
        await sleep(options.operationPollMs);
      }
      throw new SyncbotError("upstream_failed", "UMP did not finish validating the portal URL in time.", {
        hint: "Run provision again later; the step resumes.",
      });
    }
    throw new SyncbotError("conflict", "UMP settings kept changing while syncbot wrote the portal URL.");
  }

  /** A client-credentials token request with the new secret, retried through Entra's propagation delay. */
  async function proveNewSecret(
    run: RunRecord,
    ctx: CallContext,
  ): Promise<{ result: "ok" | "failed" | "skipped"; error?: string }> {
    const value = heldSecrets.get(run.id);
    if (!value || !run.appId) return { result: "skipped" };
    let last = "";
    for (let i = 0; i < options.proofAttempts; i++) {
      const proof = await tokenProver.proveClientSecret(run.appId, value, ctx);
      if (proof.ok) return { result: "ok" };
      last = proof.error;
      if (i < options.proofAttempts - 1) await sleep(options.proofDelayMs);
    }
    return { result: "failed", error: last };
  }

  async function verify(request: RequestRecord, spec: Spec, ctx: CallContext): Promise<StepOutcome> {
    const run = request.run!;
    const differences: string[] = [];
    const justCreated = request.plan.changes.some((c) => c.kind === "app.create");
    // The three read-backs are independent: run them side by side.
    const [app, umpSettings, proof] = await Promise.all([
      directory.getApplication(run.objectId!, { ...ctx, justCreated }),
      ump && viaUmpApi(request)
        ? ump.getSettings(spec.umpInstance, ctx).then((r) => r.settings)
        : Promise.resolve(null),
      proveNewSecret(run, ctx),
    ]);
    reads(run.id).app = app;
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
    if (viaUmpApi(request)) heldSecrets.delete(run.id);
    const verification = { ok: differences.length === 0, differences, tokenProof, at: nowIso() };
    await repo.saveRegistration(request.customer, (cur) => ({
      ...(cur ?? newRegistration(request, run)),
      lastVerification: verification,
      ump: umpSettings
        ? {
            revision: umpSettings.revision,
            fingerprint: umpSettings.syncApp.clientSecret.fingerprint,
            portalValidated: umpSettings.customerAuthenticationPortalUrl.validationStatus === "Valid",
            at: nowIso(),
          }
        : cur?.ump,
      updatedAt: nowIso(),
    }));
    await audit(
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
  }

  async function tidy(request: RequestRecord, ctx: CallContext): Promise<StepOutcome> {
    const run = request.run!;
    const objectId = run.objectId!;
    const app = reads(run.id).app ?? (await directory.getApplication(objectId, ctx));
    const registration = await repo.getRegistration(request.customer);
    const recorded = new Set((registration?.secrets ?? []).map((s) => s.keyId));
    const removed: string[] = [];
    const superseded: string[] = [];
    const graceUntil = new Date(clock.now().getTime() + options.graceHours * 3_600_000).toISOString();
    for (const change of request.plan.changes) {
      if (change.kind !== "secret.remove") continue;
      if (change.keyId === run.newSecret?.keyId) continue;
      if (change.reason === "superseded" && options.graceHours > 0) {
        superseded.push(change.keyId);
        continue;
      }
      await directory.removePassword(objectId, change.keyId, ctx);
      removed.push(change.keyId);
    }
    // Anything this run left behind that is not recorded (a retried addPassword) goes too.
    for (const p of app.passwordCredentials) {
      if (
        p.displayName === secretDisplayName(request.service, run.id) &&
        p.keyId !== run.newSecret?.keyId &&
        !recorded.has(p.keyId)
      ) {
        await directory.removePassword(objectId, p.keyId, ctx);
        removed.push(p.keyId);
      }
    }
    await repo.saveRegistration(request.customer, (cur) => {
      const base = cur ?? newRegistration(request, run);
      return {
        ...base,
        params: request.params,
        objectId,
        appId: run.appId!,
        conversation: request.conversation,
        secrets: base.secrets
          .filter((s) => !removed.includes(s.keyId))
          .map((s) =>
            superseded.includes(s.keyId) ? { ...s, status: "superseded" as const, removeAfter: graceUntil } : s,
          ),
        updatedAt: nowIso(),
      };
    });
    for (const keyId of removed) await audit(request, "syncbot", "secret.removed", "ok", keyId);
    for (const keyId of superseded)
      await audit(request, "syncbot", "secret.superseded", "ok", `${keyId} stays valid until ${graceUntil}`);
    const parts = [];
    if (removed.length) parts.push(`removed ${removed.length} secret(s)`);
    if (superseded.length) parts.push(`old secret kept until ${graceUntil.slice(0, 16).replace("T", " ")} UTC`);
    return { status: "done", detail: parts.join("; ") || "nothing to remove" };
  }

  function newRegistration(request: RequestRecord, run: RunRecord): RegistrationRecord {
    return {
      customer: request.customer,
      params: request.params,
      objectId: run.objectId!,
      appId: run.appId!,
      conversation: request.conversation,
      secrets: [],
      createdAt: nowIso(),
      updatedAt: nowIso(),
    };
  }

  async function recordSecret(request: RequestRecord, _spec: Spec, record: SecretRecord) {
    const run = request.run!;
    await repo.saveRegistration(request.customer, (cur) => {
      const base = cur ?? newRegistration(request, run);
      return {
        ...base,
        objectId: run.objectId!,
        appId: run.appId!,
        conversation: request.conversation,
        secrets: [...base.secrets.filter((s) => s.keyId !== record.keyId), record],
        updatedAt: nowIso(),
      };
    });
  }

  async function forgetSecret(customer: string, keyId: string) {
    const existing = await repo.getRegistration(customer);
    if (!existing) return;
    await repo.saveRegistration(customer, (cur) => ({
      ...cur!,
      secrets: cur!.secrets.filter((s) => s.keyId !== keyId),
      updatedAt: nowIso(),
    }));
  }

  /** Undo what a failed step leaves half-done: a secret UMP never received must not stay in Entra. */
  async function compensate(request: RequestRecord, failed: StepName) {
    const run = request.run!;
    const secret = run.newSecret;
    if (!secret) return;
    const secretDelivered =
      run.steps.find((s) => s.name === "writeUmp")?.status === "done" ||
      run.steps.find((s) => s.name === "handoff")?.status === "done";
    if (
      secretDelivered ||
      !(failed === "writeUmp" || failed === "addSecret" || failed === "verify" || failed === "handoff")
    )
      return;
    try {
      await directory.removePassword(run.objectId!, secret.keyId, { correlationId: request.correlationId });
      await forgetSecret(request.customer, secret.keyId);
      heldSecrets.delete(run.id);
      await audit(
        request,
        "syncbot",
        "secret.removed",
        "ok",
        `${secret.keyId} (its UMP write did not complete; the previous secret is untouched)`,
      );
      await repo.updateRequest(request.id, (r) => ({
        ...r,
        run: {
          ...r.run!,
          steps: r.run!.steps.map((s) =>
            s.name === "addSecret" ? { ...s, detail: `${s.detail ?? ""} — removed again, UMP never received it` } : s,
          ),
        },
      }));
    } catch (e) {
      log.error("could not remove the undelivered secret; the next run or sweep removes it as an orphan", {
        requestId: request.id,
        keyId: secret.keyId,
        error: describeError(e).message,
      });
    }
  }

  /** Whether this request's secret goes to UMP through its API (else it is handed over to an operator). */
  function viaUmpApi(r: RequestRecord): boolean {
    return options.umpTarget === "api" && r.service === DEFAULT_SERVICE;
  }

  /** The steps of a run: UMP's API for the "ump" service in api mode, a hand-off otherwise. */
  function stepsFor(r: RequestRecord): StepName[] {
    return STEP_ORDER[viaUmpApi(r) ? "api" : "handoff"];
  }

  function isStale(r: RequestRecord, now = clock.now().getTime()): boolean {
    return (
      r.state === "approved" ||
      (r.state === "running" && !!r.run && !r.run.handoff && Date.parse(r.run.leaseUntil) <= now)
    );
  }

  /** A button pressed on a request whose run a dead process left behind picks the run up again. */
  function resumeIfStale(r: RequestRecord) {
    if (r.state !== "running" || !isStale(r) || activeRuns.has(r.id)) return;
    void execute(r.id).catch((e) => log.error("resume failed", { requestId: r.id, error: describeError(e).message }));
  }

  /** Runs that a crashed process left: approved but never started, or running with an expired lease. */
  async function resumeStale(): Promise<string[]> {
    const now = clock.now().getTime();
    const resumed: string[] = [];
    for (const r of await repo.listRequests()) {
      if (isStale(r, now)) {
        resumed.push(r.id);
        void execute(r.id).catch((e) =>
          log.error("resume failed", { requestId: r.id, error: describeError(e).message }),
        );
      }
    }
    return resumed;
  }

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
        await forgetSecret(request.customer, run.newSecret.keyId);
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
      await finish((await repo.getRequest(request.id))!, "failed", {
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
  async function handoffApplied(requestId: string, actor: Actor): Promise<ActionOutcome> {
    const request = await repo.getRequest(requestId);
    if (!request?.run?.handoff) return { ok: false, reason: "No hand-off is waiting for this request.", request };
    if (request.run.handoff.appliedAt) return { ok: false, reason: "Already confirmed.", request };
    const allowed = [request.approver?.id, request.requester.id].filter(Boolean).map((s) => s!.toLowerCase());
    if (!allowed.includes(actor.id.toLowerCase()))
      return { ok: false, reason: "Only the operator who received the hand-off can confirm it.", request };
    const at = nowIso();
    const result = await repo.updateRequest(requestId, (r) =>
      r.run?.handoff && !r.run.handoff.appliedAt
        ? {
            ...r,
            run: {
              ...r.run,
              handoff: { ...r.run.handoff, appliedBy: actor, appliedAt: at },
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
    await audit(result.value, actor.name, "handoff.applied", "ok", `confirmed at ${at}`);
    notify(result.value);
    void execute(requestId).catch(() => undefined);
    return { ok: true, request: result.value };
  }

  /**
   * Live drift report for a managed customer: every way the registration and UMP differ from the spec,
   * in operator words. Reads only. Null when syncbot manages no registration for that customer.
   */
  async function check(customer: string, ctx: CallContext = {}) {
    const registration = await repo.getRegistration(customer);
    if (!registration) return null;
    const spec = buildSpec(registration.params);
    const live = await readLive(spec, ctx);
    const differences: string[] = [];
    if (!live.app) differences.push("Entra: the application no longer exists");
    else
      for (const d of applicationDiff(spec, live.app))
        differences.push(`Entra ${d.field}: is ${d.from}, should be ${d.to}`);
    const plan = planProvisioning(spec, live, {
      kind: "provision",
      umpApi: options.umpTarget === "api",
      now: clock.now(),
    });
    for (const c of plan.changes)
      if (c.kind !== "app.update" && c.kind !== "app.create") differences.push(describeChange(c));
    return { params: registration.params, differences };
  }

  return {
    instanceId,
    review,
    check,
    attachCard,
    approve,
    reject,
    expire,
    execute,
    resumeStale,
    handoffApplied,
    expireHandoffs,
    /** For tests: whether this process still holds any secret value. */
    heldSecretCount: () => heldSecrets.size,
  };
}
