// Slow work (a role check behind Graph throttling, live reads) may finish after the invoke was answered,
// when botbuilder has already revoked the turn's context: any access then throws. Handlers get a view
// that keeps the inbound activity and the turn state readable after the turn, so late work can still
// address the pressed card (proactively, through the stored conversation) and queue after-answer jobs.
// Replying through the context itself after the turn still throws, as it must.

import type { TurnContext } from "botbuilder";

export function outlivingContext(context: TurnContext): TurnContext {
  const activity = context.activity;
  const turnState = context.turnState;
  // The target is a stand-in, not the context: a proxy's invariant checks read its target, and a
  // revoked context would throw on them even for the two properties kept here.
  return new Proxy(Object.create(Object.getPrototypeOf(context)) as TurnContext, {
    get(_standIn, prop) {
      if (prop === "activity") return activity;
      if (prop === "turnState") return turnState;
      const value = Reflect.get(context, prop);
      return typeof value === "function" ? value.bind(context) : value;
    },
  });
}
