// createBot(config, overrides?): the composition root. Wires adapters, domain services, the chat edge
// and the HTTP server by hand; tests pass overrides (clock, store, logger) and boot it on port 0.

import type { AddressInfo } from "node:net";
import { handoffCard } from "./bot/cards/handoffCard";
import { reminderCard } from "./bot/cards/reminderCard";
import { createDigests } from "./bot/createDigests";
import { createTeamsBot } from "./bot/createTeamsBot";
import type { Config } from "./config";
import { checkEligibility } from "./domain/approval";
import { createBatches } from "./domain/batches/createBatches";
import { createProvisioning } from "./domain/createProvisioning";
import { createSweeper } from "./domain/sweep/createSweeper";
import { runDoctor } from "./domain/doctor/runDoctor";
import type { Clock, FullDirectory, Logger, TokenProver, UmpSettingsApi } from "./domain/ports";
import type { DocumentStore } from "./domain/documentStore";
import type { ProvisioningOptions } from "./domain/provisioningOptions";
import { createRepository } from "./domain/repository";
import { createStepUp } from "./domain/approverProof";
import { createGraphCredential } from "./graph/createGraphCredential";
import { createApproverTokenVerifier } from "./identity/createApproverTokenVerifier";
import { createGraphDirectory } from "./graph/createGraphDirectory";
import { createTokenProver } from "./graph/createTokenProver";
import { createLogger } from "./logger";
import { createServer } from "./server/server";
import { createStore } from "./store/createStore";
import { createHandoff } from "./ump/createHandoff";
import { createUmpApiClient } from "./ump/createUmpApiClient";

export interface BotOverrides {
  clock?: Clock;
  store?: DocumentStore;
  logger?: Logger;
  directory?: FullDirectory;
  ump?: UmpSettingsApi | null;
  tokenProver?: TokenProver;
  sleep?: (ms: number) => Promise<void>;
  /** Graph retry tuning (tests and benchmarks shorten the waits). */
  graphRetry?: Parameters<typeof createGraphDirectory>[0]["retry"];
  /** Least time between two updates of a batch card (default 3000 ms; tests shorten it). */
  batchCardIntervalMs?: number;
  /** A PEM to trust for AUTHORITY_HOST in-process (the offline demo's Entra stand-in; see createGraphCredential). */
  authorityCa?: string;
}
export type Syncbot = Awaited<ReturnType<typeof createBot>>;

export async function createBot(config: Readonly<Config>, overrides: BotOverrides = {}) {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, pretty: process.stdout.isTTY === true });
  const clock: Clock = overrides.clock ?? { now: () => new Date() };
  const store = overrides.store ?? createStore(config.store);
  const repo = createRepository(store);

  const credential = createGraphCredential(config.graphCredential, {
    tenantId: config.spTenantId,
    authorityHost: config.authorityHost,
    clientId: config.azureClientId,
    clientSecret: config.azureClientSecret,
    certificatePath: config.azureClientCertificatePath,
    authorityCa: overrides.authorityCa,
  });
  const directory =
    overrides.directory ??
    createGraphDirectory({
      baseUrl: config.graphBaseUrl,
      credential,
      logger: logger.child({ adapter: "graph" }),
      retry: overrides.graphRetry,
      sleep: overrides.sleep,
    });
  const ump =
    overrides.ump !== undefined
      ? overrides.ump
      : config.umpTarget === "api" && config.umpBaseUrl
        ? createUmpApiClient({
            baseUrl: config.umpBaseUrl,
            token: config.umpToken,
            getToken:
              !config.umpToken && config.umpScope && credential
                ? async () => (await credential.getToken(config.umpScope!))?.token ?? ""
                : undefined,
            logger: logger.child({ adapter: "ump" }),
            sleep: overrides.sleep,
          })
        : null;
  // Verified approvals (CONTRACT section 4): approvers' tokens are checked against the tenant's own keys.
  const stepUp = createStepUp(
    config.approvalStepUp === "required",
    createApproverTokenVerifier({
      authorityHost: config.authorityHost,
      tenantId: config.spTenantId,
      audiences: [config.ssoResource ?? "", config.microsoftAppId],
      authContext: config.approvalAuthContext,
      maxAgeMinutes: config.approvalTokenMaxAgeMinutes,
      now: () => clock.now(),
      jwks: { ca: overrides.authorityCa },
    }),
  );
  const tokenProver =
    overrides.tokenProver ??
    createTokenProver({ authorityHost: config.authorityHost, tenantId: config.spTenantId, logger });

  // The bot and the domain services refer to each other (cards update on domain events; commands call
  // the domain): late-bound through these closures, wired once below.
  let bot: ReturnType<typeof createTeamsBot> | undefined;
  let listeningUrl = config.publicBaseUrl ?? `http://localhost:${config.port}`;

  const handoff = config.handoffKey
    ? createHandoff({
        key: config.handoffKey,
        ttlMinutes: config.handoffTtlMinutes,
        publicBaseUrl: config.publicBaseUrl ?? "",
        repo,
        clock,
        logger,
        sendLink: async ({ conversation, operator, link, requestId, expiresAt, customer }) => {
          const base = config.publicBaseUrl ?? listeningUrl;
          const fullLink = link.startsWith("http") ? link : `${base}${link}`;
          await bot!.postPersonal(
            conversation,
            { aadObjectId: operator.id },
            handoffCard({
              title: `UMP values for ${customer}`,
              body: `Open the one-time link (valid until ${expiresAt.slice(11, 16)} UTC, single use) and paste the values into UMP's System Settings. Then press Applied in UMP.`,
              link: fullLink,
              requestId,
              showButtons: true,
            }),
            { kind: "handoff", subject: requestId },
          );
        },
      })
    : undefined;

  const provisioningOptions: ProvisioningOptions = {
    tenantId: config.spTenantId,
    umpTarget: config.umpTarget,
    approvalTtlHours: config.approvalTtlHours,
    graceHours: config.rotationGraceHours,
    leaseMs: config.runLeaseSeconds * 1000,
    replication: config.replication,
    operationPollMs: config.operationPollMs,
    operationPollAttempts: 60,
    policy: config.approvalPolicy,
    approverIds: config.approverIds,
    allowSelfApproval: config.allowSelfApproval,
  };

  const provisioning = createProvisioning({
    directory,
    ump,
    tokenProver,
    repo,
    clock,
    logger: logger.child({ component: "provisioning" }),
    handoff,
    stepUp,
    sleep: overrides.sleep,
    onChange: (request) => {
      bot?.onRequestChanged(request);
      if (request.batchId) bot?.onBatchChanged(request.batchId);
    },
    options: provisioningOptions,
  });

  const batches = createBatches({
    repo,
    clock,
    logger: logger.child({ component: "batches" }),
    options: provisioningOptions,
    review: provisioning.review,
    execute: provisioning.execute,
    // "unverified" (a role through a group syncbot cannot read) is a refusal with its reason, not an error.
    isGlobalAdministrator: (id) => directory.checkGlobalAdministrator(id),
    stepUp,
    concurrency: config.batchConcurrency,
    notify: (batchId) => bot?.onBatchChanged(batchId),
    sleep: overrides.sleep,
  });

  const sweeper = createSweeper({
    directory,
    repo,
    clock,
    logger: logger.child({ component: "sweep" }),
    reminderDays: config.reminderDays,
    instanceId: provisioning.instanceId,
    mayApprove: (actor) => checkEligibility(actor, provisioningOptions, (id) => directory.checkGlobalAdministrator(id)),
    // A reminder the Bot Connector did not take is not sent: the sweep gives its claim back and a
    // later sweep delivers it (invariant 7: at least once).
    sendReminder: async (conversation, notice) => {
      const id = await bot!.post(conversation, reminderCard({ ...notice }), {
        kind: "reminder",
        subject: notice.customer,
      });
      if (!id) throw new Error("the Bot Connector did not take the reminder");
    },
    // Several due in one conversation: one digest (issue 17), stored and paged by the chat side.
    sendDigest: (conversation, notices) =>
      createDigests({ repo, clock, post: (c, card, as) => bot!.post(c, card, as) }).send(conversation, notices),
    sendNotice: async (conversation, text) => {
      await bot!.post(conversation, text);
    },
    settleParked: () => provisioning.settleParked(),
    // Before removing a secret, the sweep asks UMP which one it holds (invariant 9).
    umpFingerprint: ump
      ? async (registration) => {
          const secret = (await ump.getSettings(registration.params.umpInstance)).settings.syncApp.clientSecret;
          if (!secret.isSet) return null;
          if (!secret.fingerprint) throw new Error("UMP does not report which secret it holds");
          return secret.fingerprint;
        }
      : undefined,
  });

  const doctor = () =>
    runDoctor({
      directory,
      ump,
      umpTarget: config.umpTarget,
      store,
      repo,
      clock,
      approvalPolicy: config.approvalPolicy,
      stepUp: {
        required: config.approvalStepUp === "required",
        authContext: config.approvalAuthContext,
        maxAgeMinutes: config.approvalTokenMaxAgeMinutes,
      },
      bot: {
        botAuth: config.botAuth,
        appId: config.microsoftAppId,
        appType: config.microsoftAppType,
        appTenantId: config.microsoftAppTenantId,
        hasPassword: config.microsoftAppPassword !== "",
        spTenantId: config.spTenantId,
      },
    });

  bot = createTeamsBot({
    config,
    provisioning,
    repo,
    clock,
    logger: logger.child({ component: "bot" }),
    sweeper: () => sweeper,
    doctor,
    batches,
    batchCardIntervalMs: overrides.batchCardIntervalMs,
  });
  const server = createServer({ bot, sweeper, jobsKey: config.jobsKey, ping: () => store.ping(), logger, handoff });

  let timers: NodeJS.Timeout[] = [];

  return {
    config,
    server,
    store,
    repo,
    provisioning,
    batches,
    sweeper,
    bot,
    logger,
    /** syncbot's own standing (`doctor`, `npm run doctor`). */
    doctor,
    /** Listens, resumes runs a previous process left behind, and starts the in-process schedule. */
    async listen(port = config.port, host = "0.0.0.0"): Promise<string> {
      await new Promise<void>((resolve) => server.listen(port, host, () => resolve()));
      const address = server.address() as AddressInfo;
      listeningUrl = `http://127.0.0.1:${address.port}`;
      await provisioning.resumeStale();
      await batches.resumeAll();
      // A run whose lease is still held by a process that just died becomes resumable after the lease.
      const resumeLeft = () => void provisioning.resumeStale({ parked: false }).catch(() => undefined);
      timers.push(setTimeout(resumeLeft, config.runLeaseSeconds * 1000 + 250));
      if (config.sweepIntervalHours > 0) {
        const every = config.sweepIntervalHours * 3_600_000;
        const scheduled = () =>
          void sweeper.sweep().catch((e) => logger.error("scheduled sweep failed", { error: String(e) }));
        // Sweep soon after start too: a process restarted more often than the interval must still sweep (invariant 7).
        timers.push(setTimeout(scheduled, 30_000));
        timers.push(setInterval(scheduled, every));
      }
      if (handoff) timers.push(setInterval(() => void provisioning.expireHandoffs().catch(() => undefined), 60_000));
      for (const t of timers) t.unref?.();
      return listeningUrl;
    },
    async close(): Promise<void> {
      for (const t of timers) clearTimeout(t);
      timers = [];
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Card updates still queued (paced by Teams' limits) get a moment to reach the channel.
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([bot?.outboundIdle(), new Promise((r) => (wait = setTimeout(r, 5_000)))]);
      clearTimeout(wait);
      await store.close();
    },
  };
}
