// Button data is hostile until cleaned: a plain object of well-formed, bounded strings; and the tenant
// gate serves only when every tenant field an activity carries names SP_TENANT_ID.

import { describe, expect, it } from "vitest";
import { cleanData, wellFormed } from "../../src/bot/cardActionGuard";
import { servesTenant } from "../../src/bot/tenantGate";

const SP = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
const OTHER = "9e8d7c6b-5a49-4838-a726-150f4e3d2c1b";

describe("cleanData", () => {
  it("replaces lone surrogates and keeps valid pairs", () => {
    expect(wellFormed("a\ud800b\udc00c")).toBe("a\ufffdb\ufffdc");
    expect(wellFormed("emoji \ud83d\ude00")).toBe("emoji \ud83d\ude00");
    expect(() => encodeURIComponent(wellFormed("\ud800"))).not.toThrow();
  });

  it.each([[null], [undefined], ["\ud800"], [42], [[1, 2]], [true]])("turns %j into an empty object", (data) => {
    expect(cleanData(data)).toEqual({});
  });

  it("bounds strings, drops arrays and functions, limits depth", () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 10; i++) {
      cur.next = {};
      cur = cur.next as Record<string, unknown>;
    }
    const out = cleanData({ a: "x".repeat(10_000), b: [1], c: 3, d: false, e: deep, "\udc00": "k" });
    expect((out.a as string).length).toBe(2000);
    expect(out.b).toBeUndefined();
    expect(out.c).toBe(3);
    expect(out.d).toBe(false);
    expect(out["\ufffd"]).toBe("k");
    expect(JSON.stringify(out.e).split("next").length - 1).toBeLessThanOrEqual(5);
  });
});

describe("servesTenant", () => {
  const activity = (conversationTenant?: string, channelTenant?: string) => ({
    conversation: { id: "c", tenantId: conversationTenant } as never,
    channelData: channelTenant === undefined ? {} : { tenant: { id: channelTenant } },
  });
  it.each([
    [SP, SP, true],
    [SP, undefined, true],
    [undefined, SP, true],
    [SP.toUpperCase(), SP, true],
    [SP, OTHER, false],
    [OTHER, SP, false],
    [undefined, undefined, false],
    ["", SP, false],
  ])("conversation %s, channelData %s → %s", (c, ch, expected) => {
    expect(servesTenant(activity(c, ch), SP)).toBe(expected);
  });
  it("refuses a tenant id that is not a string", () => {
    expect(servesTenant({ conversation: { tenantId: 42 } as never, channelData: { tenant: { id: SP } } }, SP)).toBe(
      false,
    );
  });
});
