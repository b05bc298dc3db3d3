// The chat edge under real Teams rules (issue 9): an invoke answer replaces the card for the
// presser only, so every state change others must see has to reach the shared message through the Bot
// Connector; invokes are answered within 2 s whatever Graph does; nothing sent is over 28 KB; the tenant
// gate and hostile button data (issue 11). The shared card is read from the connector emulator's
// current version of the message, never from an invoke answer (helpers local to this file).

import { afterEach, describe, expect, it } from "vitest";
import { MAX_ACTIVITY_BYTES } from "../../src/bot/cards/cardSize";
import type { RegistrationRecord } from "../../src/domain/records";
import { activityBase, cardActionActivity } from "../support/teamsActivity";
import { allActionTitles, cardText, OTHER_TENANT, type Stack, startStack, TENANT, USERS } from "../support/stack";
import { seededParams } from "../support/fixtures";

let stack: Stack;
afterEach(async () => {
  await stack?.stop();
});

/** The card everyone in the conversation sees in that message: the connector's current version. */
const shared = (activityId: string) => stack.connector.latest(activityId)?.activity?.attachments?.[0]?.content;

async function waitShared(activityId: string, pred: (card: any) => boolean, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const card = shared(activityId);
    if (card && pred(card)) return card;
    if (Date.now() > deadline) throw new Error(`shared card never matched: ${cardText(card).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const title = (card: any) => String(card?.body?.[0]?.text ?? "");

/** Every activity the bot sent through the connector, as JSON bytes. */
const largestActivity = () => Math.max(0, ...stack.connector.activities.map((a) => JSON.stringify(a.activity).length));

async function reviewed(customer = "contoso") {
  await stack.say(`provision ${customer}`);
  const { activityId } = stack.lastCardMessage();
  const answer = await stack.press(activityId, "Review plan", { card: shared(activityId) });
  const card = await waitShared(activityId, (c) => allActionTitles(c).includes("Approve"));
  return { activityId, answer, card };
}

async function provisioned(customer = "contoso") {
  const { activityId, card } = await reviewed(customer);
  await stack.press(activityId, "Approve", { user: USERS.approver, card });
  return { activityId, card: await waitShared(activityId, (c) => /: (succeeded|failed)$/.test(title(c))) };
}

describe("every button's result reaches the shared card", () => {
  it("after Review plan everyone sees the plan with Approve and Reject, and the approver approves from it", async () => {
    stack = await startStack();
    const { activityId, card } = await reviewed();
    expect(title(card)).toBe("Provision for contoso: approval needed");
    expect(allActionTitles(card)).toEqual(["Approve", "Reject"]);
    expect(cardText(card)).toMatch(/Entra: create app registration/);
    const approve = await stack.press(activityId, "Approve", { user: USERS.approver, card });
    expect(approve.status).toBe(200);
    const done = await waitShared(activityId, (c) => /: (succeeded|failed)$/.test(title(c)));
    expect(title(done)).toBe("Provision for contoso: succeeded");
    expect(cardText(done)).toMatch(/Approved by Megan Bowen/);
  });

  it("a refusal's reason goes to the presser only; the shared card keeps Approve for the others", async () => {
    stack = await startStack();
    const { activityId, card } = await reviewed();
    const own = await stack.press(activityId, "Approve", { user: USERS.requester, card });
    expect(cardText(own.card)).toMatch(/refused/);
    await new Promise((r) => setTimeout(r, 200));
    expect(cardText(shared(activityId))).not.toMatch(/refused/);
    expect(allActionTitles(shared(activityId))).toEqual(["Approve", "Reject"]);
  });

  it("Reject by a colleague closes the request on the shared card", async () => {
    stack = await startStack();
    const { activityId, card } = await reviewed();
    await stack.press(activityId, "Reject", { user: USERS.bystander, card });
    const after = await waitShared(activityId, (c) => /rejected$/.test(title(c)));
    expect(allActionTitles(after)).toEqual([]);
    expect(cardText(after)).toMatch(/Rejected by Adele Vance/);
  });

  it("Rotate secret on the status card posts the rotation plan as a new message everyone sees", async () => {
    stack = await startStack();
    await provisioned();
    await stack.say("status");
    const status = stack.lastCardMessage();
    const answer = await stack.press(status.activityId, "Rotate secret", { user: USERS.bystander, card: status.card });
    expect(answer.text).toMatch(/Preparing a plan to rotate the ump secret of contoso/);
    const plan = await stack.connector.waitFor((cur) =>
      cur.find((a) => /Rotate the secret for contoso: approval needed/.test(JSON.stringify(a.activity))),
    );
    const card = shared(plan.activityId);
    expect(allActionTitles(card)).toEqual(["Approve", "Reject"]);
    // The status card itself is unchanged for everyone.
    expect(title(shared(status.activityId))).toBe("Registrations managed by syncbot (1)");
    await stack.press(plan.activityId, "Approve", { user: USERS.approver, card });
    const done = await waitShared(plan.activityId, (c) => /: (succeeded|failed)$/.test(title(c)));
    expect(title(done)).toBe("Rotate the secret for contoso: succeeded");
  });

  it("history's Next page replaces the shared card with the next page", async () => {
    stack = await startStack();
    await provisioned();
    for (let i = 0; i < 25; i++)
      await stack.bot.repo.audit({
        at: new Date(Date.now() - (i + 1) * 60_000).toISOString(),
        customer: "contoso",
        actor: `Older **actor** ${i}`,
        action: "note",
        outcome: "info",
        correlationId: `corr-${i}`,
      });
    await stack.say("history contoso");
    const history = stack.lastCardMessage();
    expect(allActionTitles(history.card)).toEqual(["Next page"]);
    const first = cardText(history.card);
    await stack.press(history.activityId, "Next page", { user: USERS.bystander, card: history.card });
    const next = await waitShared(history.activityId, (c) => cardText(c) !== first);
    expect(cardText(next)).toMatch(/Older \\\*\\\*actor\\\*\\\* \d+/); // markdown shown as typed, not rendered
  });
});

describe("answer in time", () => {
  it("Review plan with Graph answering 429 + Retry-After answers within 2 s and later shows the plan", async () => {
    stack = await startStack({ overrides: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) } });
    await stack.say("provision contoso");
    const { activityId } = stack.lastCardMessage();
    stack.graph.injectFault({
      status: 429,
      count: 1,
      retryAfterSeconds: 3,
      match: { method: "GET", pathIncludes: "uniqueName" },
    });
    const started = Date.now();
    const answer = await stack.press(activityId, "Review plan", { card: shared(activityId) });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(cardText(answer.card)).toMatch(/Reading the live registration/);
    await waitShared(activityId, (c) => /Reading the live registration/.test(cardText(c)), 2000);
    const plan = await waitShared(activityId, (c) => allActionTitles(c).includes("Approve"), 15_000);
    expect(title(plan)).toBe("Provision for contoso: approval needed");
    expect(Date.now() - started).toBeGreaterThan(2500);
  });
});

describe("answer in time (commands)", () => {
  it("rotate under Graph throttling posts 'preparing the plan' at once and the plan when the reads finish", async () => {
    stack = await startStack({ overrides: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) } });
    await provisioned();
    stack.graph.injectFault({
      status: 429,
      count: 1,
      retryAfterSeconds: 3,
      match: { method: "GET", pathIncludes: "uniqueName" },
    });
    const started = Date.now();
    await stack.say("rotate contoso");
    expect(Date.now() - started).toBeLessThan(2500);
    const { activityId, card } = stack.lastCardMessage();
    expect(title(card)).toBe("Rotate the secret for contoso: preparing the plan");
    const plan = await waitShared(activityId, (c) => allActionTitles(c).includes("Approve"));
    expect(title(plan)).toBe("Rotate the secret for contoso: approval needed");
    await stack.press(activityId, "Approve", { user: USERS.approver, card: plan });
    const done = await waitShared(activityId, (c) => /: (succeeded|failed)$/.test(title(c)), 20_000);
    expect(title(done)).toBe("Rotate the secret for contoso: succeeded");
  });
});

describe("size", () => {
  function registration(i: number, now: number): RegistrationRecord {
    const customer = `cust-${String(i).padStart(3, "0")}`;
    const end = new Date(now + ((i * 7919) % 700) * 86_400_000 - 5 * 86_400_000).toISOString();
    return {
      customer,
      params: seededParams(customer),
      objectId: `${String(i).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`,
      appId: `${String(i).padStart(8, "0")}-eeee-4fff-8000-111111111111`,
      conversation: {},
      secrets: [
        {
          keyId: `${String(i).padStart(8, "0")}-1111-4222-8333-444444444444`,
          service: "ump",
          runId: `run-${i}`,
          displayName: `syncbot:ump:run-${i}`,
          hint: "Abc",
          endDateTime: end,
          fingerprint: `sha256:${String(i).padStart(16, "0")}`,
          createdAt: new Date(now).toISOString(),
          status: "active",
        },
      ],
      ump: { revision: 1, fingerprint: `sha256:${String(i).padStart(16, "0")}`, portalValidated: true, at: "" },
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
    };
  }

  it("status over 300 registrations sends nothing over 28 KB, soonest expiry first, and pages for everyone", async () => {
    stack = await startStack();
    const now = Date.now();
    const regs = Array.from({ length: 300 }, (_, i) => registration(i, now));
    for (const r of regs) await stack.bot.repo.saveRegistration(r.customer, () => r);
    await stack.say("status");
    const { activityId, card } = stack.lastCardMessage();
    expect(largestActivity()).toBeLessThan(MAX_ACTIVITY_BYTES);
    const text = cardText(card);
    expect(text).toContain("Registrations managed by syncbot (300)");
    expect(text).toMatch(/300 registrations: \d+ expired, \d+ expiring within 30 days, \d+ healthy\./);
    const soonest = [...regs].sort((a, b) => a.secrets[0]!.endDateTime.localeCompare(b.secrets[0]!.endDateTime))[0]!;
    expect(text).toMatch(new RegExp(`Soonest expiries: ${soonest.customer} expired`));
    const listed = [...text.matchAll(/^(cust-\d{3})/gm)].map((m) => m[1]);
    expect(listed[0]).toBe(soonest.customer);
    // The summary charts both figures, each chart with a fallback table for clients without charts.
    const charts = (card.body as any[]).flatMap((e) => (e.type === "Container" ? e.items : [e]));
    for (const type of ["Chart.VerticalBar", "Chart.Donut"])
      expect(charts.find((e) => e.type === type)?.fallback?.type, type).toBe("Table");
    expect(charts.find((e) => e.type === "Chart.Donut").data.reduce((a: number, d: any) => a + d.value, 0)).toBe(300);
    expect(text).toMatch(/Expiring: [A-Z][a-z]{2} \d{2} \d+/);
    expect(allActionTitles(card)).toContain("Next page");
    await stack.press(activityId, "Next page", { user: USERS.bystander, card });
    const page2 = await waitShared(activityId, (c) => /Page 2 of 38/.test(cardText(c)));
    expect(cardText(page2)).not.toContain(`${soonest.customer} — EXPIRED`);
    expect(largestActivity()).toBeLessThan(MAX_ACTIVITY_BYTES);
    await stack.say("status cust-042");
    expect(cardText(stack.lastCardMessage().card)).toContain("Status of cust-042");
  });
});

describe("tenant gate and hostile data (issue 11)", () => {
  it("serves only when every tenant field names SP_TENANT_ID", async () => {
    stack = await startStack();
    const base = activityBase({ serviceUrl: stack.connector.url, user: USERS.requester, tenantId: TENANT });
    const post = (activity: unknown) =>
      fetch(`${stack.url}/api/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(activity),
      });
    const mixed = {
      ...base,
      type: "message",
      text: "help",
      channelData: { ...base.channelData, tenant: { id: OTHER_TENANT } },
    };
    expect((await post(mixed)).status).toBe(200);
    const none = {
      ...base,
      type: "message",
      text: "help",
      conversation: { ...base.conversation, tenantId: undefined },
    };
    delete (none as any).channelData.tenant;
    expect((await post({ ...none, channelData: {} })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 150));
    expect(stack.connector.activities).toHaveLength(0);
    const invoke = await post({
      ...cardActionActivity(base, "some-card", {
        title: "Approve",
        verb: "approval.approve",
        data: { requestId: "x" },
      }),
      conversation: { ...base.conversation, tenantId: OTHER_TENANT },
    });
    expect(((await invoke.json()) as any).statusCode).toBe(403);
  });

  it("answers a press with a lone surrogate, a non-object or an unknown verb properly, and keeps serving", async () => {
    stack = await startStack();
    await stack.say("provision contoso");
    const { activityId } = stack.lastCardMessage();
    const lone = await stack.press(activityId, "Review plan", {
      card: shared(activityId),
      data: { customer: "\ud800", displayName: "x\udc00y", appName: "a".repeat(100_000), secretLifetimeMonths: {} },
    });
    expect(lone.status).toBe(200);
    expect(lone.card ? cardText(lone.card) : lone.text).toMatch(/Some values need fixing|Enter|Use/);
    const base = activityBase({ serviceUrl: stack.connector.url, user: USERS.approver, tenantId: TENANT });
    for (const action of [
      { title: "Approve", verb: "approval.approve", data: "\ud800" as any },
      { title: "Approve", verb: "approval.approve", data: [1, 2, 3] as any },
      { title: "?", verb: "no.such\ud800verb", data: {} },
      { title: "?", verb: 42 as any, data: {} },
    ]) {
      const res = await fetch(`${stack.url}/api/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(cardActionActivity(base, activityId, action)),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.statusCode).toBe(200);
      expect(typeof body.value === "string" || body.value?.type === "AdaptiveCard").toBe(true);
    }
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
    // Messages with lone surrogates are answered too.
    const before = stack.connector.activities.length;
    expect((await stack.say("status \udc00x")).status).toBe(200);
    expect((await stack.say("provision \ud800")).status).toBe(200);
    await stack.connector.waitFor(() => (stack.connector.activities.length >= before + 2 ? true : undefined));
    expect(stack.connector.activities.at(-2)?.activity.text).toMatch(/manages no registration for "\uFFFDx"/);
    await stack.say("help");
    expect(cardText(stack.lastCardMessage().card)).toContain("syncbot commands");
  });

  it("opens the hand-off's personal chat with the approver's Entra object id", async () => {
    stack = await startStack({
      env: {
        UMP_TARGET: "handoff",
        HANDOFF_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => ((i * 151 + 29) % 256) ^ 0x5a)).toString(
          "base64",
        ),
        PUBLIC_BASE_URL: "http://127.0.0.1:1",
      },
    });
    const { activityId, card } = await reviewed();
    await stack.press(activityId, "Approve", { user: USERS.approver, card });
    const created = await stack.connector.waitFor(() => stack.connector.conversationsCreated[0]);
    expect(created.parameters.members.map((m: any) => m.id)).toEqual([USERS.approver.aadObjectId]);
    expect(created.parameters.isGroup).toBe(false);
  });
});
