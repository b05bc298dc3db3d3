// Late work after an invoke was answered: botbuilder revokes the turn's context when the turn ends, and
// handlers must still read the inbound activity and queue after-answer jobs (found when an Approve whose
// role check waited behind Graph throttling never started its run).

import { TestAdapter, TurnContext } from "botbuilder";
import { describe, expect, it } from "vitest";
import { outlivingContext } from "../../src/bot/outlivingContext";

function revocableTurn() {
  const real = new TurnContext(new TestAdapter(), {
    type: "invoke",
    id: "a1",
    replyToId: "card-1",
    conversation: { id: "conv" } as never,
  });
  real.turnState.set("k", 42);
  return Proxy.revocable(real, {});
}

describe("outlivingContext", () => {
  it("keeps the activity and the turn state readable after the turn's context is revoked", () => {
    const { proxy, revoke } = revocableTurn();
    const ctx = outlivingContext(proxy);
    revoke();
    expect(() => proxy.activity).toThrow(/revoked/);
    expect(ctx.activity.replyToId).toBe("card-1");
    expect(ctx.turnState.get("k")).toBe(42);
    expect(TurnContext.getConversationReference(ctx.activity).conversation?.id).toBe("conv");
  });

  it("still refuses to reply through a revoked context", async () => {
    const { proxy, revoke } = revocableTurn();
    const ctx = outlivingContext(proxy);
    revoke();
    expect(() => ctx.sendActivity("late")).toThrow(/revoked/);
  });

  it("forwards everything else while the turn lasts", async () => {
    const { proxy } = revocableTurn();
    const ctx = outlivingContext(proxy);
    expect(ctx.adapter).toBe(proxy.adapter);
    await expect(ctx.sendActivity("hello")).resolves.toBeDefined();
  });
});
