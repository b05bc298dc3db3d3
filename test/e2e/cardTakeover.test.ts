// Issue 20 over HTTP, findings 1 and 3: a card shows one request for its whole life, and a button
// changes only a message of its own kind that shows its own subject. Each test sends the attacker's
// activity as Teams would deliver it (any replyToId, any data, or no aadObjectId) and then looks at
// what the other people in the channel see and what Entra got.

import { afterEach, describe, expect, it } from "vitest";
import { activityBase, cardActionActivity } from "../support/teamsActivity";
import {
  cardText,
  findAction,
  runFinished,
  type Stack,
  startStack,
  TENANT,
  type TestUser,
  USERS,
} from "../support/stack";

let stack: Stack;
afterEach(async () => {
  await stack?.stop();
});

const ATTACKER_FQDN = "ump.example.net.attacker-login.com";
const ATTACKER_VALUES = {
  customer: "contoso",
  appName: "portal",
  serviceProviderFqdn: ATTACKER_FQDN,
  displayName: "Microsoft Teams",
  umpInstance: "ump-contoso",
  secretLifetimeMonths: "24",
};

/** An invoke exactly as the sender's client would deliver it, pointing at any message id with any data. */
async function invoke(user: TestUser | null, replyToId: string, verb: string, data: Record<string, unknown>) {
  const base = activityBase({ serviceUrl: stack.connector.url, user: user ?? USERS.bystander, tenantId: TENANT });
  const activity = cardActionActivity(base, replyToId, { title: "x", verb, data });
  // No actor: a sender without an Entra object id (a bot, a guest of another kind, a forged activity).
  if (!user) activity.from = { id: "29:anonymous", name: "Nobody" } as typeof activity.from;
  const res = await fetch(`${stack.url}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(activity),
  });
  const body = (await res.json()) as { value: unknown };
  return typeof body.value === "string" ? body.value : cardText(body.value);
}

const updatesOf = (activityId: string) =>
  stack.connector.activities.filter((a) => a.activityId === activityId && a.op === "update").length;

describe("a bystander's Review plan on someone else's pending approval card", () => {
  it("leaves the card showing the requester's plan; the approver approves it and Entra gets contoso's values", async () => {
    stack = await startStack();
    const { activityId } = await stack.reviewPlan("contoso");
    await stack.seesButton(USERS.approver, activityId, "Approve");
    const alexCard = stack.cardOf(activityId);
    expect(cardText(alexCard)).toContain("https://contoso.ump.example.net/authenticate/OAuth2Callback");

    const answer = await invoke(USERS.bystander, activityId, "provision.review", ATTACKER_VALUES);
    expect(answer).toMatch(/posted as a new message/);
    // Adele's plan is a message of its own that says whose it is and flags the host.
    const adeleMessage = await stack.connector.waitFor((cur) =>
      cur.find(
        (c) => c.activityId !== activityId && cardText(c.activity?.attachments?.[0]?.content).includes(ATTACKER_FQDN),
      ),
    );
    const adeleCard = adeleMessage.activity.attachments[0].content;
    const adeleText = cardText(adeleCard);
    expect(adeleText).toContain("Requested by:** Adele Vance");
    expect(adeleText).toContain("Display name:** Microsoft Teams");
    expect(adeleText).toContain(`https://portal.${ATTACKER_FQDN}/authenticate/OAuth2Callback`);
    expect(adeleText).toContain(`https://portal.${ATTACKER_FQDN}/authenticate`);
    expect(adeleText).toMatch(/differs from the default \(DEFAULT_SP_FQDN ump\.example\.net\)/);

    // Everyone still sees Alex's plan on Alex's card.
    const shared = stack.cardOf(activityId);
    expect(cardText(shared)).toContain("Requested by:** Alex Wilber");
    expect(cardText(shared)).not.toContain(ATTACKER_FQDN);
    expect(cardText(shared)).not.toContain("Microsoft Teams");

    // The Global Administrator approves the card they read: contoso's plan, as Alex asked for it.
    await stack.press(activityId, "Approve", { user: USERS.approver });
    const done = await stack.waitForCard(activityId, runFinished, 20_000);
    expect(done.body[0].text).toBe("Provision for contoso: succeeded");
    const apps = stack.graph.applications();
    expect(apps).toHaveLength(1);
    expect(apps[0]!.displayName).toBe("UMP-365 Delegated Token Sync - contoso");
    expect(JSON.stringify(apps[0]!.web)).toContain("https://contoso.ump.example.net/authenticate/OAuth2Callback");
    expect(JSON.stringify(apps[0]!)).not.toContain("attacker");
    expect((await stack.bot.repo.getRegistration("contoso"))!.params.serviceProviderFqdn).toBe("ump.example.net");
    const requests = await stack.bot.repo.listRequests();
    expect(requests.find((r) => r.requester.name === "Alex Wilber")!.state).toBe("succeeded");
    // Adele's request is still pending on its own card, which says it is hers.
    const adele = requests.find((r) => r.requester.name === "Adele Vance")!;
    expect(adele.state).toBe("planned");
    expect(adele.cardActivityId).toBe(adeleMessage.activityId);
  });

  it("the requester's own re-plan takes the card over, withdraws the earlier plan and shows what changed", async () => {
    stack = await startStack();
    await stack.say("provision contoso");
    const { activityId, card: form } = stack.lastCardMessage();
    await stack.press(activityId, "Review plan");
    const firstCard = await stack.seesButton(USERS.approver, activityId, "Approve");
    const first = (await stack.bot.repo.listRequests())[0]!;
    // Alex's client missed the update and still shows the form: a second Review plan with a new display name.
    await stack.press(activityId, "Review plan", { card: form, inputs: { displayName: "Contoso Sync" } });
    const replanned = await stack.waitForCard(activityId, (c) => cardText(c).includes("Changed since the plan"));
    expect(cardText(replanned)).toMatch(/Display name: UMP-365 Delegated Token Sync - contoso → Contoso Sync/);
    expect((await stack.bot.repo.getRequest(first.id))!.state).toBe("rejected");
    // Approve on a stale copy of the first plan changes nothing; Approve on the card as it is now runs it.
    const stale = await stack.press(activityId, "Approve", { user: USERS.approver, card: firstCard });
    expect(stale.card ? cardText(stale.card) : stale.text).toMatch(/another request|already rejected/);
    expect(stack.graph.writes()).toHaveLength(0);
    await stack.press(activityId, "Approve", { user: USERS.approver, card: stack.cardOf(activityId) });
    await stack.waitForCard(activityId, runFinished, 20_000);
    expect(stack.graph.applications()[0]!.displayName).toBe("Contoso Sync");
  });
});

describe("a press changes only its own kind of card, showing its own subject", () => {
  it("status.page, history.more and reminder.snooze on the approval card: refused, the card stays", async () => {
    stack = await startStack();
    const { activityId } = await stack.reviewPlan("contoso");
    await stack.seesButton(USERS.approver, activityId, "Approve");
    const before = JSON.stringify(stack.cardOf(activityId));
    const updates = updatesOf(activityId);
    for (const [verb, data] of [
      ["status.page", { page: 2 }],
      ["history.more", { customer: "contoso" }],
      ["reminder.snooze", { customer: "contoso", keyId: "00000000-0000-0000-0000-000000000000" }],
      ["provision.review", ATTACKER_VALUES],
    ] as const) {
      const answer = await invoke(USERS.bystander, `${activityId}-forged`, verb, data);
      expect(answer, verb).toMatch(/nothing was changed/);
    }
    for (const [verb, data] of [
      ["status.page", { page: 2 }],
      ["history.more", { customer: "contoso" }],
      ["reminder.snooze", { customer: "contoso", keyId: "00000000-0000-0000-0000-000000000000" }],
    ] as const) {
      expect(await invoke(USERS.bystander, activityId, verb, data), verb).toMatch(/nothing was changed/);
      expect(await invoke(null, activityId, verb, data), `${verb} without an actor`).toMatch(/cannot tell who/);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(updatesOf(activityId)).toBe(updates);
    expect(JSON.stringify(stack.cardOf(activityId))).toBe(before);
    expect(findAction(stack.cardOf(activityId), "Approve")).toBeDefined();
    expect(await stack.bot.repo.getSnooze("00000000-0000-0000-0000-000000000000")).toBeNull();
  });

  it("history.more without an actor, or on another customer's history: nothing is answered or updated", async () => {
    stack = await startStack();
    await stack.provision("contoso");
    await stack.provision("fabrikam");
    await stack.say("history contoso");
    const { activityId } = stack.lastCardMessage();
    const updates = updatesOf(activityId);
    expect(await invoke(null, activityId, "history.more", { customer: "contoso" })).toMatch(/cannot tell who/);
    expect(await invoke(USERS.bystander, activityId, "history.more", { customer: "fabrikam" })).toMatch(
      /another customer/,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(updatesOf(activityId)).toBe(updates);
    expect(stack.cardOf(activityId).body[0].text).toMatch(/contoso/);
  });

  it("Approve pressed on a message id syncbot never posted is refused and the request stays planned", async () => {
    stack = await startStack();
    const { activityId } = await stack.reviewPlan("contoso");
    const card = await stack.seesButton(USERS.approver, activityId, "Approve");
    const action = findAction(card, "Approve");
    const answer = await invoke(USERS.approver, "forwarded-copy-1", "approval.approve", action.data);
    expect(answer).toMatch(/nothing was changed/);
    await new Promise((r) => setTimeout(r, 200));
    expect((await stack.bot.repo.listRequests())[0]!.state).toBe("planned");
    expect(stack.graph.writes()).toHaveLength(0);
  });
});
