// "A new secret for each new service" (vendor procedure step 21): a customer's registration holds one
// secret per service. The "ump" secret goes to UMP through its API; another service's secret is handed
// to the approving operator through a one-time link. Each has its own reminders and rotation, and
// rotating one never touches the other.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { secretFingerprint } from "../emulators/umpEmulator";
import {
  cardText,
  expectNoSecretIn,
  findAction,
  JOBS_KEY,
  manualClock,
  runFinished,
  type Stack,
  startStack,
  USERS,
} from "../support/stack";

const DAY = 86_400_000;
let stack: Stack;
const clock = manualClock();
beforeEach(async () => {
  clock.t = Date.now();
  stack = await startStack({
    clock,
    env: {
      HANDOFF_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => (i * i * 37 + i * 11 + 5) % 256)).toString(
        "base64",
      ),
      PUBLIC_BASE_URL: "http://127.0.0.1:1",
    },
  });
});
afterEach(async () => {
  expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack.stop();
});

/** Opens the hand-off link from the approver's personal chat; returns the page's secret and the chat card. */
async function takeHandoff(nth: number) {
  const created = await stack.connector.waitFor(() => stack.connector.conversationsCreated[nth]);
  const dm = await stack.connector.waitFor((cur) =>
    cur.find((a) => a.conversationId === created.id && a.activity?.attachments?.length),
  );
  const card = dm.activity.attachments[0].content;
  const token = JSON.stringify(card).match(/\/handoff\/([A-Za-z0-9_-]{43})/)![1]!;
  // The page's Reveal button POSTs to the link; the GET alone shows no value.
  const html = await (await fetch(`${stack.url}/handoff/${token}`, { method: "POST" })).text();
  const secret = html
    .match(/Client secret<\/th><td><code>([^<]+)<\/code>/)![1]!
    .replace(/&#(\d+);/g, (_m, c) => String.fromCharCode(Number(c)));
  return { activityId: dm.activityId, card, secret };
}

async function rotate(service: string, nthHandoff: number) {
  await stack.say(`rotate contoso ${service}`);
  const { activityId, card } = stack.lastCardMessage();
  expect(cardText(card)).toContain(`Entra: add client secret for service "${service}"`);
  expect(cardText(card)).not.toMatch(/UMP ump-contoso: write/);
  await stack.press(activityId, "Approve", { user: USERS.approver });
  const handoff = await takeHandoff(nthHandoff);
  await stack.press(handoff.activityId, "Applied in UMP", { user: USERS.approver, card: handoff.card });
  const done = await stack.waitForCard(activityId, runFinished);
  expect(done.body[0].text).toBe("Rotate the secret for contoso: succeeded");
  return handoff.secret;
}

describe("several services on one registration", () => {
  it("adds a second service's secret by hand-off, reminds per service, and rotates one without touching the other", async () => {
    await stack.provision("contoso");
    const app0 = stack.graph.applications()[0]!;
    const umpKeyId = app0.passwordCredentials[0]!.keyId;
    const umpBefore = stack.ump.settings("ump-contoso");

    // First secret of the "teams-sync" service.
    const teamsSecret = await rotate("teams-sync", 0);
    let app = stack.graph.applications()[0]!;
    expect(app.passwordCredentials).toHaveLength(2);
    const teamsKey = app.passwordCredentials.find((p) => p.keyId !== umpKeyId)!;
    expect(teamsKey.displayName).toMatch(/^syncbot:teams-sync:/);
    expect(secretFingerprint(teamsSecret)).toBe(stack.graph.secretFingerprint(app.id, teamsKey.keyId));
    // UMP still holds the ump secret, untouched.
    expect(stack.ump.settings("ump-contoso").syncApp.clientSecret).toEqual(umpBefore.syncApp.clientSecret);
    expect(stack.graph.secretFingerprint(app.id, umpKeyId)).toBe(umpBefore.syncApp.clientSecret.fingerprint);
    const reg = await stack.bot.repo.getRegistration("contoso");
    expect(reg?.secrets.map((s) => `${s.service}:${s.status}`).sort()).toEqual(["teams-sync:active", "ump:active"]);

    // Reminders: one per service's secret, each naming its service, each with its own Rotate button.
    // The bot's clock moves to ten days before expiry for the sweep (over HTTP, `at` is only a what-if).
    clock.t = Date.parse(teamsKey.endDateTime!) - 10 * DAY;
    const sweep = await fetch(`${stack.url}/api/jobs/expiry-sweep`, {
      method: "POST",
      headers: { "x-jobs-key": JOBS_KEY },
    });
    expect(((await sweep.json()) as { sent: number }).sent).toBe(2);
    clock.t = Date.now();
    const reminders = stack.connector.activities
      .filter(
        (a) =>
          a.op === "create" &&
          /secret of contoso expires/.test(a.activity?.attachments?.[0]?.content?.body?.[0]?.text ?? ""),
      )
      .map((a) => ({ activityId: a.activityId, card: a.activity.attachments[0].content }));
    expect(reminders.map((r) => r.card.body[0].text.split(" ")[1]).sort()).toEqual(["teams-sync", "ump"]);
    const teamsReminder = reminders.find((r) => r.card.body[0].text.includes("teams-sync"))!;
    expect(findAction(teamsReminder.card, "Rotate secret")?.data).toMatchObject({
      customer: "contoso",
      service: "teams-sync",
    });

    // Rotate secret on the teams-sync reminder plans a teams-sync rotation: old teams-sync secret kept
    // through the grace period, the ump secret not mentioned.
    await stack.press(teamsReminder.activityId, "Rotate secret", { user: USERS.requester });
    // The plan is posted as a new message for everyone; the reminder stays as it is.
    const posted = await stack.connector.waitFor((cur) =>
      cur.find((a) => /Rotate the secret for contoso: approval needed/.test(JSON.stringify(a.activity))),
    );
    const plan = cardText(posted.activity.attachments[0].content);
    expect(plan).toContain('Entra: add client secret for service "teams-sync"');
    expect(plan).toContain(`remove the old secret ${teamsKey.keyId}`);
    expect(plan).not.toContain(umpKeyId);
    await stack.press(posted.activityId, "Approve", { user: USERS.approver });
    const handoff = await takeHandoff(1);
    await stack.press(handoff.activityId, "Applied in UMP", { user: USERS.approver, card: handoff.card });
    const done = await stack.waitForCard(posted.activityId, runFinished);
    expect(done.body[0].text).toBe("Rotate the secret for contoso: succeeded");

    app = stack.graph.applications()[0]!;
    expect(app.passwordCredentials.map((p) => p.keyId)).toContain(umpKeyId);
    expect(app.passwordCredentials).toHaveLength(3); // ump, old teams-sync (grace), new teams-sync
    const after = await stack.bot.repo.getRegistration("contoso");
    expect(after?.secrets.find((s) => s.keyId === teamsKey.keyId)?.status).toBe("superseded");
    expect(after?.secrets.find((s) => s.keyId === umpKeyId)?.status).toBe("active");
    expect(stack.ump.settings("ump-contoso").syncApp.clientSecret).toEqual(umpBefore.syncApp.clientSecret);
  });
});
