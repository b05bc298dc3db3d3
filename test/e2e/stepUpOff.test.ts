// APPROVAL_STEP_UP=off (CONTRACT section 2, DOMAIN invariant 13): allowed, but every approval card and
// batch card says so while it waits for approval, and `doctor` warns. The in-process stacks run with
// BOT_AUTH=disabled, where off is the default (as in `npm run dev`).

import { afterEach, describe, expect, it } from "vitest";
import { cardText, type Stack, startStack, USERS } from "../support/stack";

let stack: Stack;
afterEach(async () => {
  await stack?.stop();
});

describe("verified approvals off", () => {
  it("every approval and batch card says so, approvals need no sign-in, and doctor warns", async () => {
    stack = await startStack();
    const { activityId, card } = await stack.reviewPlan("contoso");
    expect(cardText(card)).toMatch(/Verified approvals are OFF \(APPROVAL_STEP_UP=off\)/);
    const approved = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(approved.status).toBe(200);
    // Once approved, the warning has done its work: the card shows the run.
    const after = await stack.waitForCard(activityId, (c) => !/Waiting for approval/.test(cardText(c)));
    expect(cardText(after)).not.toMatch(/Verified approvals are OFF/);

    await stack.say("provision fabrikam northwind");
    const batch = stack.lastCardMessage();
    await stack.press(batch.activityId, "Review plan");
    const planned = await stack.waitForCard(
      batch.activityId,
      (c) => /waiting for approval/.test(c.body[0].text),
      20_000,
    );
    expect(cardText(planned)).toMatch(/Verified approvals are OFF \(APPROVAL_STEP_UP=off\)/);

    await stack.say("doctor");
    const doctor = cardText(stack.lastCardMessage().card);
    expect(doctor).toMatch(
      /WARN Verified approvals: APPROVAL_STEP_UP=off: Approve and Applied in UMP rest on Teams' word/,
    );
  }, 60_000);

  it("with APPROVAL_STEP_UP=required the cards carry no such warning and doctor says what is demanded", async () => {
    stack = await startStack({
      env: {
        APPROVAL_STEP_UP: "required",
        APPROVAL_AUTH_CONTEXT: "c1",
        SSO_RESOURCE: "api://syncbot.example.net/botid-7d2f3c41-9a0b-4c5d-8e6f-1a2b3c4d5e6f",
        SSO_CONNECTION_NAME: "syncbot-sso",
      },
    });
    const { card } = await stack.reviewPlan("contoso");
    expect(cardText(card)).toMatch(/Waiting for approval/);
    expect(cardText(card)).not.toMatch(/Verified approvals are OFF/);
    await stack.say("doctor");
    const doctor = cardText(stack.lastCardMessage().card);
    expect(doctor).toMatch(
      /OK Verified approvals: required: sign-ins at most 10 minutes old, authentication context c1/,
    );
  }, 60_000);
});
