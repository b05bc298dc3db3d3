// The chat edge: the only module family that imports botbuilder / teams-ai. This file builds the
// adapter and the teams-ai Application and registers, in one visible place, the tenant gate, every
// command (commands/) and every card button (actions/). A later move to the Agents SDK touches src/bot alone.

import { Application, TeamsAdapter } from "@microsoft/teams-ai";
import { ActivityTypes, MemoryStorage, type Request, type Response } from "botbuilder";
import type { Config } from "../config";
import type { Batches } from "../domain/batches/createBatches";
import type { Provisioning } from "../domain/createProvisioning";
import type { Sweeper } from "../domain/sweep/createSweeper";
import type { DoctorLine } from "../domain/doctor/runDoctor";
import { describeError } from "../domain/errors";
import { createMessageBindings } from "../domain/messageBindings";
import type { Clock, Logger } from "../domain/ports";
import type { ConversationRef, RequestRecord } from "../domain/records";
import type { Repository } from "../domain/repository";
import { approvalActions } from "./actions/approvalActions";
import { batchActions } from "./actions/batchActions";
import { digestActions } from "./actions/digestActions";
import { handoffActions } from "./actions/handoffActions";
import { historyActions } from "./actions/historyActions";
import { provisionActions } from "./actions/provisionActions";
import { secretActions } from "./actions/secretActions";
import { statusActions } from "./actions/statusActions";
import { outlivingContext } from "./outlivingContext";
import { actorOf } from "./actorOf";
import { type AfterResponseQueue, collectAfterResponse, flushAfterResponse } from "./afterResponse";
import type { BotKit, CardAction, Command } from "./botKit";
import { guardCardAction, unknownCardAction, wellFormed } from "./cardActionGuard";
import { markdownText } from "./cards/markdownText";
import { checkCommand } from "./commands/checkCommand";
import { doctorCommand } from "./commands/doctorCommand";
import { answerUnknown, helpCommand } from "./commands/helpCommand";
import { historyCommand } from "./commands/historyCommand";
import { provisionCommand } from "./commands/provisionCommand";
import { rotateCommand } from "./commands/rotateCommand";
import { statusCommand } from "./commands/statusCommand";
import { createBatchCards } from "./createBatchCards";
import { createCardUpdates } from "./createCardUpdates";
import { createMessenger } from "./createMessenger";
import { tenantGate } from "./tenantGate";
import { truncate } from "./truncate";

const COMMANDS: Command[] = [
  provisionCommand,
  statusCommand,
  checkCommand,
  rotateCommand,
  historyCommand,
  doctorCommand,
  helpCommand,
];
const CARD_ACTIONS: CardAction[] = [
  ...provisionActions,
  ...approvalActions,
  ...secretActions,
  ...statusActions,
  ...historyActions,
  ...handoffActions,
  ...batchActions,
  ...digestActions,
];

export interface TeamsBotDeps {
  config: Readonly<Config>;
  provisioning: Provisioning;
  repo: Repository;
  clock: Clock;
  logger: Logger;
  sweeper?: () => Sweeper | undefined;
  doctor: () => Promise<DoctorLine[]>;
  batches?: Batches;
  /** Least time between two updates of one batch card (coalesced). */
  batchCardIntervalMs?: number;
}

export type TeamsBot = ReturnType<typeof createTeamsBot>;

export function createTeamsBot(deps: TeamsBotDeps) {
  const { config } = deps;
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

  const bindings = createMessageBindings(deps.repo.store, () => deps.clock.now());
  const messenger = createMessenger({ adapter, botAppId, spTenantId: config.spTenantId, log, bindings });
  adapter.use(messenger.queueTurnSends);
  const cardUpdates = createCardUpdates({ messenger, cardView: (r) => kit.cardView(r), log });
  const kit: BotKit = {
    config,
    provisioning: deps.provisioning,
    repo: deps.repo,
    clock: deps.clock,
    log,
    sweeper: deps.sweeper ?? (() => undefined),
    messenger,
    doctor: deps.doctor,
    cardView: (request: RequestRecord, notice?: string) => ({
      request,
      spTenantId: config.spTenantId,
      allowSelfApproval: config.allowSelfApproval,
      defaultFqdn: config.defaults.serviceProviderFqdn,
      stepUpOff: config.approvalStepUp === "off",
      notice,
    }),
    async attachRequestCard(requestId: string, reference: ConversationRef, activityId: string) {
      const conversationId = String((reference.conversation as { id?: unknown } | undefined)?.id ?? "");
      await bindings.bind(conversationId, activityId, { kind: "approval", subject: requestId });
      await deps.provisioning.attachCard(requestId, activityId);
    },
    onRequestChanged: cardUpdates.onRequestChanged,
    reviewsInFlight: new Set(),
  };
  const batchCards = deps.batches
    ? createBatchCards({
        batches: deps.batches,
        repo: deps.repo,
        messenger,
        log,
        intervalMs: deps.batchCardIntervalMs ?? 3000,
        stepUpOff: config.approvalStepUp === "off",
      })
    : undefined;
  if (deps.batches && batchCards) kit.batches = { service: deps.batches, cards: batchCards };

  app.turn("beforeTurn", tenantGate(config.spTenantId, log));

  app.activity(ActivityTypes.Message, async (context) => {
    const text = wellFormed(String(context.activity.text ?? "").slice(0, 2000))
      .replace(/<at>[^<]*<\/at>/gi, " ")
      .replace(/\s+/g, " ")
      .trim();
    const [rawCommand = "", ...args] = text.split(" ");
    const name = rawCommand.toLowerCase();
    const command = COMMANDS.find((c) => c.name === name);
    try {
      if (command) await command.run(outlivingContext(context), args, actorOf(context), kit);
      else await answerUnknown(context, rawCommand, kit);
    } catch (e) {
      const d = describeError(e);
      log.error("command failed", { command: name, code: d.code, error: d.message });
      await context.sendActivity(
        `That did not work (${d.code}): ${markdownText(truncate(`${d.message}${d.hint ? ` ${d.hint}` : ""}`, 1000))}`,
      );
    }
  });

  // Card buttons (Action.Execute → invoke adaptiveCard/action). An invoke answer replaces the pressed
  // card for the presser only; what others must see each action sends through the Bot Connector.
  for (const action of CARD_ACTIONS)
    app.adaptiveCards.actionExecute(action.verb, async (context, _state, data: unknown) => {
      const answer = await guardCardAction(action, outlivingContext(context), data, kit);
      if (typeof answer === "string" || !("invokeResponse" in answer)) return answer;
      // A sign-in request carries its own status (401): sent here, so teams-ai adds no 200 of its own.
      await context.sendActivity({ type: "invokeResponse", value: answer.invokeResponse });
      return "";
    });
  // Registered last: any other adaptiveCard/action invoke (an unknown or malformed verb) still gets an answer.
  app.addRoute(unknownCardAction.selector, unknownCardAction.handler, true);

  return {
    adapter,
    app,
    onRequestChanged: cardUpdates.onRequestChanged,
    onBatchChanged: (batchId: string) => batchCards?.changed(batchId),
    post: messenger.post,
    postPersonal: messenger.postPersonal,
    /** Resolves when every queued post and update has been answered (a clean shutdown waits, bounded). */
    outboundIdle: messenger.queue.idle,
    /** Processes one HTTP request, then runs the work that must start only after the answer is sent. */
    async process(req: Request, res: Response): Promise<void> {
      const queue: AfterResponseQueue = { jobs: [], flushed: false };
      try {
        await adapter.process(req, res, async (context) => {
          collectAfterResponse(context, queue);
          await app.run(context);
        });
      } finally {
        flushAfterResponse(queue);
      }
    },
  };
}
