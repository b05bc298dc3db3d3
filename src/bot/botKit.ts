// What every command and card action is given: the domain services, configuration and the messenger.
// Commands and actions are plain values ({ name, run } / { verb, run }) registered by createTeamsBot.

import type { TurnContext } from "botbuilder";
import type { Config } from "../config";
import type { Batches } from "../domain/batches/createBatches";
import type { Provisioning } from "../domain/createProvisioning";
import type { Sweeper } from "../domain/sweep/createSweeper";
import type { DoctorLine } from "../domain/doctor/runDoctor";
import type { CardKind, MessageBinding } from "../domain/messageBindings";
import type { Clock, Logger } from "../domain/ports";
import type { Actor, ConversationRef, RequestRecord } from "../domain/records";
import type { Repository } from "../domain/repository";
import type { ApprovalView } from "./cards/approvalCard";
import type { Card } from "./cards/renderCard";
import type { BatchCards } from "./createBatchCards";
import type { Messenger } from "./createMessenger";

export interface BotKit {
  config: Readonly<Config>;
  provisioning: Provisioning;
  repo: Repository;
  clock: Clock;
  log: Logger;
  sweeper: () => Sweeper | undefined;
  messenger: Messenger;
  /** syncbot's own standing (the `doctor` command). */
  doctor: () => Promise<DoctorLine[]>;
  cardView(request: RequestRecord, notice?: string): ApprovalView;
  /** Binds a request to the message that shows it (request.cardActivityId and the message's binding). */
  attachRequestCard(requestId: string, reference: ConversationRef, activityId: string): Promise<void>;
  /** Shows a request's state on its card (request.cardActivityId) for everyone, in order. */
  onRequestChanged(request: RequestRecord): void;
  /** Cards (by activity id) whose Review plan is still reading live state in this process. */
  reviewsInFlight: Set<string>;
  /** Batch onboarding (issue 13): the domain service and the coalesced batch card. */
  batches?: { service: Batches; cards: BatchCards };
}

/** A chat command: `name` is the first word the user types. */
export interface Command {
  name: string;
  run(context: TurnContext, args: string[], actor: Actor | null, kit: BotKit): Promise<void>;
}

/** An invoke answered with its own status and body (a sign-in request, or its documented errors). */
export interface InvokeResponseAnswer {
  invokeResponse: { status: number; body: Record<string, unknown> };
}

/** What an invoke answers: a card (seen by the presser only), a short text, or a sign-in request. */
export type InvokeAnswer = Card | string | InvokeResponseAnswer;

/**
 * A card button (Action.Execute) by its verb. `on` lists the kinds of card the button lives on: a press
 * reaches `run` only from an identified person (aadObjectId) on a message syncbot posted in that
 * conversation as one of those kinds (`pressed`, domain/messageBindings.ts); anything else is refused.
 */
export interface CardAction {
  verb: string;
  on: readonly CardKind[];
  run(context: TurnContext, data: Record<string, unknown>, kit: BotKit, pressed: MessageBinding): Promise<InvokeAnswer>;
}
