// The chat edge: the only module family that imports botbuilder / teams-ai. It turns Teams activities
// into calls on the domain services and domain results into cards, and it owns every outbound
// message (card updates, proactive reminders). A later move to the Agents SDK touches src/bot alone.

import { Application, TeamsAdapter } from "@microsoft/teams-ai";
import {
  ActivityTypes,
  CardFactory,
  type ConversationReference,
  MemoryStorage,
  type Request,
  type Response,
  TurnContext,
} from "botbuilder";
import type { Config } from "../config";
import type { Provisioning } from "../domain/createProvisioning";
import { describeError } from "../domain/errors";
import type { Logger } from "../domain/ports";
import type { Actor, ConversationRef, RequestRecord } from "../domain/records";
import type { Repository } from "../domain/repository";
import {
  isCustomerSlug,
  isServiceName,
  PARAMETER_FIELDS,
  type ProvisionParameters,
  validateParameters,
} from "../domain/spec";
import type { Clock } from "../domain/ports";
import type { Sweeper } from "../domain/createSweeper";
import {
  approvalCard,
  type Card,
  driftCard,
  handoffCard,
  helpCard,
  historyCard,
  parametersCard,
  reminderCard,
  statusCard,
} from "./cards";

const AFTER_RESPONSE = Symbol("afterResponse");

export interface TeamsBotDeps {
  config: Readonly<Config>;
  provisioning: Provisioning;
  repo: Repository;
  clock: Clock;
  logger: Logger;
  sweeper?: () => Sweeper | undefined;
}

export type TeamsBot = ReturnType<typeof createTeamsBot>;

export function createTeamsBot(deps: TeamsBotDeps) {
  const { config, provisioning, repo, clock } = deps;
  const log = deps.logger;
  const botAppId = config.microsoftAppId;

  const adapter = new TeamsAdapter({
    ...(config.botFrameworkEnv as Record<string, string>),
    MicrosoftAppId: botAppId,
    MicrosoftAppPassword: config.microsoftAppPassword,
    MicrosoftAppType: config.microsoftAppType,
    MicrosoftAppTenantId: config.microsoftAppTenantId,
  });
  adapter.onTurnError = async (context, error) => {
    log.error("turn failed", { activityType: context.activity.type, error: describeError(error).message });
    if (context.activity.type === ActivityTypes.Message)
      await context.sendActivity(
        "Something went wrong on syncbot's side; nothing was changed. The logs have the details.",
      );
  };

  const app = new Application({
    adapter,
    botAppId,
    storage: new MemoryStorage(),
    removeRecipientMention: true,
    startTypingTimer: false,
    longRunningMessages: false,
  });

  // ------------------------------------------------------------------------------------------
  // Tenant gate: activities from any other tenant get no service and nothing is written.
  app.turn("beforeTurn", async (context) => {
    const a = context.activity;
    const tenant = (a.conversation?.tenantId ?? a.channelData?.tenant?.id ?? "").toLowerCase();
    if (tenant === config.spTenantId) return true;
    log.warn("activity from another tenant ignored", { tenant: tenant || "(none)", type: a.type });
    if (a.type === ActivityTypes.Invoke)
      await context.sendActivity({
        type: "invokeResponse",
        value: {
          status: 200,
          body: {
            statusCode: 403,
            type: "application/vnd.microsoft.error",
            value: { code: "Forbidden", message: "syncbot serves only its own tenant." },
          },
        },
      });
    return false;
  });

  app.activity(ActivityTypes.Message, async (context) => {
    const text = (context.activity.text ?? "")
      .replace(/<at>[^<]*<\/at>/gi, " ")
      .replace(/\s+/g, " ")
      .trim();
    const [rawCommand = "", ...args] = text.split(" ");
    const command = rawCommand.toLowerCase();
    const actor = actorOf(context);
    try {
      switch (command) {
        case "provision":
          return await onProvision(context, args[0]);
        case "status":
          return await onStatus(context, args[0]);
        case "check":
          return await onCheck(context, args[0]);
        case "rotate":
          return await onRotate(context, args[0], args[1], actor);
        case "history":
          return await onHistory(context, args[0]);
        default:
          await sendCard(
            context,
            helpCard(command && command !== "help" ? `I don't know "${truncate(rawCommand, 40)}".` : ""),
          );
      }
    } catch (e) {
      const d = describeError(e);
      log.error("command failed", { command, code: d.code, error: d.message });
      await context.sendActivity(`That did not work (${d.code}): ${d.message}${d.hint ? ` ${d.hint}` : ""}`);
    }
  });

  // ------------------------------------------------------------------------------------------
  // Card buttons (Action.Execute → invoke adaptiveCard/action). Each returns the card that replaces
  // the pressed one; state changes after the answer reach everyone through updateActivity.

  app.adaptiveCards.actionExecute("provision.review", async (context, _state, data: Record<string, unknown>) => {
    const actor = actorOf(context);
    if (!actor) return unidentified();
    const validated = validateParameters(data);
    if (!validated.ok) return parametersCard({ values: pickParams(data), errors: validated.errors });
    const outcome = await guard(() =>
      provisioning.review({
        params: validated.params,
        kind: "provision",
        requester: actor,
        tenantId: config.spTenantId,
        conversation: referenceOf(context),
      }),
    );
    if ("error" in outcome) return parametersCard({ values: validated.params, formError: outcome.error });
    switch (outcome.kind) {
      case "invalid":
        return parametersCard({ values: validated.params, errors: outcome.errors });
      case "busy":
        return parametersCard({ values: validated.params, formError: outcome.reason });
      case "nothing-to-do":
        return driftCard(validated.params.customer, validated.params, [], undefined);
      case "planned":
        if (context.activity.replyToId) await provisioning.attachCard(outcome.request.id, context.activity.replyToId);
        return approvalCard(cardView(outcome.request));
    }
  });

  app.adaptiveCards.actionExecute("approval.approve", async (context, _state, data: Record<string, unknown>) => {
    const actor = actorOf(context);
    if (!actor) return unidentified();
    const requestId = typeof data.requestId === "string" ? data.requestId : "";
    const result = await provisioning.approve(requestId, actor, data.planHash);
    if (!result.request) return "This request is unknown to syncbot.";
    if (!result.ok)
      return approvalCard(cardView(result.request, `${actor.name} pressed Approve: refused. ${result.reason}`));
    if (context.activity.replyToId && result.request.cardActivityId !== context.activity.replyToId)
      await provisioning.attachCard(requestId, context.activity.replyToId);
    afterResponse(context, () => {
      void provisioning
        .execute(requestId)
        .catch((e) => log.error("run failed", { requestId, error: describeError(e).message }));
    });
    return approvalCard(cardView(result.request));
  });

  app.adaptiveCards.actionExecute("approval.reject", async (context, _state, data: Record<string, unknown>) => {
    const actor = actorOf(context);
    if (!actor) return unidentified();
    const result = await provisioning.reject(typeof data.requestId === "string" ? data.requestId : "", actor);
    if (!result.request) return "This request is unknown to syncbot.";
    return approvalCard(cardView(result.request, result.ok ? undefined : result.reason));
  });

  app.adaptiveCards.actionExecute("secret.rotate", async (context, _state, data: Record<string, unknown>) => {
    const actor = actorOf(context);
    if (!actor) return unidentified();
    const customer = typeof data.customer === "string" ? data.customer : "";
    const outcome = await planRotation(
      context,
      customer,
      typeof data.service === "string" ? data.service : undefined,
      actor,
    );
    if (typeof outcome === "string") return outcome;
    if (context.activity.replyToId) await provisioning.attachCard(outcome.id, context.activity.replyToId);
    return approvalCard(cardView(outcome));
  });

  app.adaptiveCards.actionExecute("reminder.snooze", async (context, _state, data: Record<string, unknown>) => {
    const actor = actorOf(context);
    if (!actor) return unidentified();
    const sweeper = deps.sweeper?.();
    if (!sweeper) return "Reminders are not configured.";
    const result = await sweeper.snooze(String(data.customer ?? ""), String(data.keyId ?? ""), actor);
    if (!result.ok) return result.reason;
    return reminderCard({
      ...result.view,
      showButtons: true,
      notice: `Snoozed until ${result.until.slice(0, 10)} by ${actor.name}.`,
    });
  });

  app.adaptiveCards.actionExecute("history.more", async (_context, _state, data: Record<string, unknown>) => {
    const customer = String(data.customer ?? "");
    if (!isCustomerSlug(customer)) return "Unknown customer.";
    const page = await repo.listAudit(customer, {
      limit: 20,
      after: typeof data.after === "string" ? data.after : undefined,
    });
    return historyCard(customer, page.events, page.next);
  });

  app.adaptiveCards.actionExecute("handoff.applied", async (context, _state, data: Record<string, unknown>) => {
    const actor = actorOf(context);
    if (!actor) return unidentified();
    const result = await provisioning.handoffApplied(String(data.requestId ?? ""), actor);
    return handoffCard({
      title: "Hand-off",
      body: result.ok ? `Recorded: applied in UMP by ${actor.name}. syncbot finishes the run.` : result.reason,
      requestId: String(data.requestId ?? ""),
      showButtons: false,
    });
  });

  // ------------------------------------------------------------------------------------------

  async function onProvision(context: TurnContext, customerArg: string | undefined) {
    const customer = (customerArg ?? "").toLowerCase();
    if (!customer) return void (await context.sendActivity("Usage: provision <customer>, e.g. provision contoso"));
    const existing = isCustomerSlug(customer) ? await repo.getRegistration(customer) : null;
    const values: ParametersDefaults = existing
      ? { ...existing.params }
      : {
          customer,
          appName: customer.slice(0, 63),
          serviceProviderFqdn: config.defaults.serviceProviderFqdn ?? "",
          displayName: `UMP-365 Delegated Token Sync - ${customer}`,
          umpInstance: (config.defaults.umpInstance ?? "").replaceAll("{customer}", customer),
          secretLifetimeMonths: 24,
        };
    const errors = isCustomerSlug(customer)
      ? undefined
      : validateParameters({ customer }).ok
        ? undefined
        : { customer: "Use lower-case letters, digits and hyphens (e.g. contoso)." };
    await sendCard(context, parametersCard({ values, errors }));
  }

  async function onStatus(context: TurnContext, customer: string | undefined) {
    const all = await repo.listRegistrations();
    const regs = customer ? all.filter((r) => r.customer === customer.toLowerCase()) : all;
    if (customer && regs.length === 0)
      return void (await context.sendActivity(`syncbot manages no registration for "${truncate(customer, 40)}".`));
    const drift = new Map<string, string>();
    for (const r of regs)
      if (r.lastVerification && !r.lastVerification.ok)
        drift.set(r.customer, "DRIFT: last verification found differences");
    await sendCard(
      context,
      statusCard(
        regs,
        clock.now(),
        drift,
        customer ? `Status of ${customer}` : `Registrations managed by syncbot (${regs.length})`,
      ),
    );
  }

  async function onCheck(context: TurnContext, customerArg: string | undefined) {
    const customer = (customerArg ?? "").toLowerCase();
    const report = isCustomerSlug(customer) ? await provisioning.check(customer) : null;
    if (!report)
      return void (await context.sendActivity(
        `syncbot manages no registration for "${truncate(customerArg ?? "", 40)}". Use provision first.`,
      ));
    await sendCard(context, driftCard(customer, report.params, report.differences));
  }

  async function onRotate(
    context: TurnContext,
    customerArg: string | undefined,
    service: string | undefined,
    actor: Actor | null,
  ) {
    if (!actor)
      return void (await context.sendActivity("syncbot cannot tell who you are (no Entra object id on the message)."));
    const outcome = await planRotation(context, (customerArg ?? "").toLowerCase(), service, actor);
    if (typeof outcome === "string") return void (await context.sendActivity(outcome));
    const sent = await sendCard(context, approvalCard(cardView(outcome)));
    if (sent?.id) await provisioning.attachCard(outcome.id, sent.id);
  }

  async function planRotation(
    context: TurnContext,
    customer: string,
    service: string | undefined,
    actor: Actor,
  ): Promise<RequestRecord | string> {
    const registration = isCustomerSlug(customer) ? await repo.getRegistration(customer) : null;
    if (!registration) return `syncbot manages no registration for "${truncate(customer, 40)}".`;
    if (service && !isServiceName(service))
      return `"${truncate(service, 40)}" is not a service name (1-32 lower-case letters, digits or hyphens).`;
    const outcome = await guard(() =>
      provisioning.review({
        params: registration.params,
        kind: "rotate",
        service: service?.toLowerCase(),
        requester: actor,
        tenantId: config.spTenantId,
        conversation: referenceOf(context),
      }),
    );
    if ("error" in outcome) return outcome.error;
    if (outcome.kind === "planned") return outcome.request;
    if (outcome.kind === "invalid") return `Cannot plan a rotation: ${Object.values(outcome.errors).join(" ")}`;
    if (outcome.kind === "busy") return outcome.reason;
    return "Nothing to rotate.";
  }

  async function onHistory(context: TurnContext, customerArg: string | undefined) {
    const customer = (customerArg ?? "").toLowerCase();
    if (!isCustomerSlug(customer)) return void (await context.sendActivity("Usage: history <customer>"));
    const page = await repo.listAudit(customer, { limit: 20 });
    await sendCard(context, historyCard(customer, page.events, page.next));
  }

  // ------------------------------------------------------------------------------------------

  function cardView(request: RequestRecord, notice?: string) {
    return { request, spTenantId: config.spTenantId, allowSelfApproval: config.allowSelfApproval, notice };
  }

  async function guard<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
    try {
      return await fn();
    } catch (e) {
      const d = describeError(e);
      log.warn("review failed", { code: d.code, error: d.message });
      const prefix =
        d.code === "validation_failed" || d.code === "config_invalid"
          ? "Cannot plan this"
          : "Could not read the live state";
      return { error: `${prefix} (${d.code}): ${d.message}${d.hint ? ` ${d.hint}` : ""}` };
    }
  }

  function unidentified(): string {
    return "syncbot cannot tell who pressed the button (no Entra object id); nothing was changed.";
  }

  async function sendCard(context: TurnContext, card: Card) {
    return context.sendActivity({ type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(card)] });
  }

  function afterResponse(context: TurnContext, job: () => void) {
    const jobs = context.turnState.get(AFTER_RESPONSE) as Array<() => void> | undefined;
    if (jobs) jobs.push(job);
    else setImmediate(job);
  }

  // Card updates for one request go out one at a time and in order, so a slow update never overwrites
  // a newer state. States that arrive while an update is in flight are coalesced (only the newest is
  // sent), except a "waiting for Graph/UMP, retry n of m" notice, which is always shown.
  const queues = new Map<string, RequestRecord[]>();
  function onRequestChanged(request: RequestRecord) {
    if (!request.cardActivityId) return;
    const queue = queues.get(request.id);
    if (!queue) {
      const fresh = [request];
      queues.set(request.id, fresh);
      void drain(request.id, fresh);
      return;
    }
    const last = queue[queue.length - 1];
    if (queue.length > 1 && last && !last.run?.waiting) queue[queue.length - 1] = request;
    else queue.push(request);
  }
  async function drain(requestId: string, queue: RequestRecord[]) {
    try {
      while (queue.length > 0) {
        const next = queue[0]!;
        await updateCard(next.conversation, next.cardActivityId!, approvalCard(cardView(next))).catch((e) =>
          log.warn("card update failed", { requestId, error: describeError(e).message }),
        );
        queue.shift();
      }
    } finally {
      queues.delete(requestId);
    }
  }

  async function updateCard(reference: ConversationRef, activityId: string, card: Card) {
    await adapter.continueConversationAsync(botAppId, reference as Partial<ConversationReference>, async (ctx) => {
      await ctx.updateActivity({
        id: activityId,
        type: ActivityTypes.Message,
        attachments: [CardFactory.adaptiveCard(card)],
      });
    });
  }

  /** Proactive post into a stored conversation (reminders, rotation stages). Resolves the new activity id. */
  async function post(reference: ConversationRef, card: Card | string): Promise<string | undefined> {
    let id: string | undefined;
    await adapter.continueConversationAsync(botAppId, reference as Partial<ConversationReference>, async (ctx) => {
      const sent =
        typeof card === "string"
          ? await ctx.sendActivity(card)
          : await ctx.sendActivity({ type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(card)] });
      id = sent?.id;
    });
    return id;
  }

  /** A personal (1:1) chat with a user, for the hand-off link: never a channel. */
  async function postPersonal(reference: ConversationRef, user: { channelUserId: string }, card: Card): Promise<void> {
    const ref = reference as Partial<ConversationReference>;
    await adapter.createConversationAsync(
      botAppId,
      ref.channelId ?? "msteams",
      ref.serviceUrl ?? "",
      "",
      {
        isGroup: false,
        bot: ref.bot as never,
        members: [{ id: user.channelUserId, name: "" }],
        tenantId: config.spTenantId,
        channelData: { tenant: { id: config.spTenantId } },
      } as never,
      async (ctx) => {
        await ctx.sendActivity({ type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(card)] });
      },
    );
  }

  return {
    adapter,
    app,
    onRequestChanged,
    post,
    postPersonal,
    /** Processes one HTTP request, then runs the work that must start only after the answer is sent. */
    async process(req: Request, res: Response): Promise<void> {
      const jobs: Array<() => void> = [];
      await adapter.process(req, res, async (context) => {
        context.turnState.set(AFTER_RESPONSE, jobs);
        await app.run(context);
      });
      for (const job of jobs) job();
    },
  };
}

type ParametersDefaults = Partial<Record<keyof ProvisionParameters, string | number>>;

function pickParams(data: Record<string, unknown>): ParametersDefaults {
  const out: ParametersDefaults = {};
  for (const k of PARAMETER_FIELDS) {
    const v = data[k];
    if (typeof v === "string" || typeof v === "number") out[k] = truncate(String(v), 300);
  }
  return out;
}

function actorOf(context: TurnContext): Actor | null {
  const from = context.activity.from;
  const id = from?.aadObjectId;
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  return { id: id.toLowerCase(), name: truncate(from.name || id, 80), channelUserId: from.id } as Actor;
}

function referenceOf(context: TurnContext): ConversationRef {
  return TurnContext.getConversationReference(context.activity) as unknown as ConversationRef;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
