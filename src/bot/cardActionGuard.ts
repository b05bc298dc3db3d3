// Every button press gets a proper invoke answer, whatever its data: the data is reduced to a plain
// object of well-formed strings (a lone UTF-16 surrogate cannot reach a URL encoder, the store or a
// card), a failure answers with a sentence instead of a failed turn, and no answer exceeds the size limit.
// Before any action runs, the presser must carry an Entra object id and the pressed message must be one
// syncbot posted in that conversation as a card the button lives on (domain/messageBindings.ts).

import type { TurnContext } from "botbuilder";
import { MAX_BATCH_TEXT } from "../domain/batches/batchRecords";
import { describeError } from "../domain/errors";
import { actorOf, UNIDENTIFIED } from "./actorOf";
import { FAILED_ANSWER } from "./answerInTime";
import type { BotKit, CardAction, InvokeAnswer } from "./botKit";
import { fitCard } from "./cards/cardSize";
import { truncate } from "./truncate";

const MAX_STRING = 2000;
/**
 * Inputs allowed to be longer: the batch card's pasted list (README: batches of up to 500 customers,
 * one `customer [appName] [umpInstance]` line each), still bounded; one character more than the list
 * may hold, so the action can refuse an over-long list rather than cut a line in two.
 */
const LONG_INPUTS: Readonly<Record<string, number>> = { customers: MAX_BATCH_TEXT + 1 };
const MAX_DEPTH = 4;

/** Lone surrogates become U+FFFD (String.prototype.toWellFormed, which the ES2023 typings lack). */
export function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/** Card data as the actions expect it: a plain object; strings well formed and bounded; no deep nesting. */
export function cleanData(data: unknown, depth = 0): Record<string, unknown> {
  if (!data || typeof data !== "object" || Array.isArray(data) || depth > MAX_DEPTH) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>).slice(0, 50)) {
    const key = wellFormed(k);
    if (typeof v === "string") out[key] = wellFormed(v.slice(0, (depth === 0 && LONG_INPUTS[key]) || MAX_STRING));
    else if (typeof v === "number" || typeof v === "boolean") out[key] = v;
    else if (v && typeof v === "object" && !Array.isArray(v)) out[key] = cleanData(v, depth + 1);
  }
  return out;
}

export async function guardCardAction(
  action: CardAction,
  context: TurnContext,
  data: unknown,
  kit: BotKit,
): Promise<InvokeAnswer> {
  let answer: InvokeAnswer;
  try {
    // Every verb needs an identified person, and a message syncbot posted here as a card this button is on.
    if (!actorOf(context)) return UNIDENTIFIED;
    const pressed = await kit.messenger.pressedCard(context);
    if (!pressed || !action.on.includes(pressed.kind)) {
      kit.log.warn("press on a message that is not one of this button's cards refused", { verb: action.verb });
      return NOT_OUR_CARD;
    }
    answer = await action.run(context, cleanData(data), kit, pressed);
  } catch (e) {
    kit.log.error("button failed", { verb: action.verb, error: describeError(e).message });
    return FAILED_ANSWER;
  }
  if (typeof answer === "string") return truncate(answer, 1500);
  if ("invokeResponse" in answer) return answer;
  const fitted = fitCard(answer);
  if (fitted.oversized) kit.log.error("invoke answer over the size limit replaced", { bytes: fitted.oversized });
  return fitted.card;
}

export const NOT_OUR_CARD =
  "This button is not on a card syncbot posted in this conversation for it; nothing was changed.";

/** The route for an adaptiveCard/action invoke no action claims (unknown verb, or none). */
export const unknownCardAction = {
  selector: async (context: TurnContext) =>
    context.activity.type === "invoke" && context.activity.name === "adaptiveCard/action",
  handler: async (context: TurnContext) => {
    await context.sendActivity({
      type: "invokeResponse",
      value: {
        status: 200,
        body: {
          statusCode: 200,
          type: "application/vnd.microsoft.activity.message",
          value: "syncbot does not know this button; nothing was changed.",
        },
      },
    });
  },
};
