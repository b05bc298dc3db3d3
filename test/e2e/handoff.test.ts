// UMP_TARGET=handoff: for a UMP without the settings API. The approver gets a one-time link in a
// personal chat; the page shows the values once; the secret is held only sealed; "Applied in UMP"
// finishes the run.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { secretFingerprint } from "../emulators/umpEmulator";
import {
  cardText,
  expectNoSecretIn,
  fact,
  manualClock,
  runFinished,
  type Stack,
  startStack,
  USERS,
} from "../support/stack";

const KEY = Buffer.alloc(32, 7).toString("base64");
let stack: Stack;
beforeEach(async () => {
  stack = await startStack({ env: { UMP_TARGET: "handoff", HANDOFF_KEY: KEY, PUBLIC_BASE_URL: "http://127.0.0.1:1" } });
});
afterEach(async () => {
  await stack.stop();
});

describe("hand-off mode", () => {
  it("hands the values over once, in a personal chat, and finishes when the operator confirms", async () => {
    await stack.say("provision contoso");
    const { activityId } = stack.lastCardMessage();
    await stack.press(activityId, "Review plan");
    const plan = await stack.seesButton(USERS.approver, activityId, "Approve");
    expect(cardText(plan)).not.toMatch(/UMP ump-contoso: write/); // no UMP API calls in this mode
    await stack.press(activityId, "Approve", { user: USERS.approver });
    await stack.waitForCard(activityId, (c) => /waiting for Megan Bowen to apply the values in UMP/.test(cardText(c)));

    // The link went to a personal chat created for the approver, not to the channel.
    const created = await stack.connector.waitFor(() => stack.connector.conversationsCreated[0]);
    // Opened with the approver's Entra object id (a channel-scoped 29: id does not open a personal chat).
    expect(created.parameters.members.map((m: any) => m.id)).toEqual([USERS.approver.aadObjectId]);
    expect(created.parameters.isGroup).toBe(false);
    const dm = await stack.connector.waitFor((cur) =>
      cur.find((a) => a.conversationId === created.id && a.activity?.attachments?.length),
    );
    const dmCard = dm.activity.attachments[0].content;
    const link: string = JSON.stringify(dmCard).match(/"url":"([^"]+\/handoff\/[^"]+)"/)![1]!;
    const token = link.split("/handoff/")[1]!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits

    // The page shows the secret once; the fingerprint proves it is the one in Entra.
    const page = await fetch(`${stack.url}/handoff/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    const html = await page.text();
    const app = stack.graph.applications()[0]!;
    const secretValue = html
      .match(/Client secret<\/th><td><code>([^<]+)<\/code>/)![1]!
      .replace(/&#(\d+);/g, (_m, c) => String.fromCharCode(Number(c)));
    expect(secretFingerprint(secretValue)).toBe(
      stack.graph.secretFingerprint(app.id, app.passwordCredentials[0]!.keyId),
    );
    expect(html).toContain(app.appId);
    expect(html).toContain("https://contoso.ump.example.net/authenticate/OAuth2Callback");
    const again = await fetch(`${stack.url}/handoff/${token}`);
    expect(again.status).toBe(410);
    expect(await again.text()).not.toContain(secretValue);

    // Applied in UMP, pressed by the operator in the personal chat.
    const applied = await stack.press(dm.activityId, "Applied in UMP", { user: USERS.approver, card: dmCard });
    expect(cardText(applied.card)).toMatch(/applied in UMP by Megan Bowen/);
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Provision for contoso: succeeded");
    expect(fact(done, "Application (client) ID")).toBe(app.appId);
    const request = (await stack.bot.repo.listRequests())[0]!;
    expect(request.run?.handoff?.appliedBy?.name).toBe("Megan Bowen");

    // Never in clear anywhere else: messages, logs, database.
    expect(stack.everything()).not.toContain(secretValue);
    expect(stack.ump.requests).toHaveLength(0);
  });

  it("fails the run and removes the secret from Entra when the link expires unopened", async () => {
    const clock = manualClock();
    await stack.stop();
    stack = await startStack({
      clock,
      env: { UMP_TARGET: "handoff", HANDOFF_KEY: KEY, PUBLIC_BASE_URL: "http://127.0.0.1:1" },
    });
    const { activityId } = await stack.reviewPlan("contoso");
    await stack.seesButton(USERS.approver, activityId, "Approve");
    await stack.press(activityId, "Approve", { user: USERS.approver });
    await stack.waitForCard(activityId, (c) => /waiting for Megan Bowen/.test(cardText(c)));
    const dm = await stack.connector.waitFor((cur) => cur.find((a) => /\/handoff\//.test(JSON.stringify(a.activity))));
    const token = JSON.stringify(dm.activity).match(/\/handoff\/([A-Za-z0-9_-]{43})/)![1]!;
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(1);

    expect(await stack.bot.provisioning.expireHandoffs()).toBe(0); // not yet
    clock.t += 16 * 60_000;
    expect(await stack.bot.provisioning.expireHandoffs()).toBe(1);

    const card = await stack.waitForCard(activityId, runFinished);
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(cardText(card)).toMatch(/expired before anyone opened it/);
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(0);
    expect((await stack.bot.repo.getRegistration("contoso"))?.secrets ?? []).toHaveLength(0);
    expect((await fetch(`${stack.url}/handoff/${token}`)).status).toBe(410);
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  });

  it("refuses a forged or unknown link", async () => {
    expect((await fetch(`${stack.url}/handoff/${"A".repeat(43)}`)).status).toBe(404);
    expect((await fetch(`${stack.url}/handoff/..%2f..%2fetc`)).status).toBe(404);
  });
});
