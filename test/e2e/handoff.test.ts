// UMP_TARGET=handoff: for a UMP without the settings API. The approver gets a one-time link in a
// personal chat; its page shows a Reveal button (a link scanner's GET uses nothing up), the POST that
// button sends shows the values once; the secret is held only sealed; "Applied in UMP" finishes the run.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { secretFingerprint } from "../emulators/umpEmulator";
import { activityBase, cardActionActivity } from "../support/teamsActivity";
import {
  cardText,
  expectNoSecretIn,
  fact,
  findAction,
  manualClock,
  runFinished,
  type Stack,
  startStack,
  TENANT,
  USERS,
} from "../support/stack";

// Random-looking (a key of one repeated byte is refused at start).
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => ((i * 151 + 29) % 256) ^ 0x5a)).toString("base64");

/** GET the link as a browser or a link scanner does. */
const view = (url: string) => fetch(url, { headers: { accept: "text/html" } });
/** What the page's Reveal button sends: its form (method post, no action: the same URL). */
async function pressReveal(url: string) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
    body: "",
  });
}
function expectPageHeaders(res: Response) {
  const csp = res.headers.get("content-security-policy") ?? "";
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("form-action 'self'");
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
}
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

    // Opening the link shows a Reveal button and no value.
    const url = `${stack.url}/handoff/${token}`;
    const landing = await view(url);
    expect(landing.status).toBe(200);
    expectPageHeaders(landing);
    const landingHtml = await landing.text();
    expect(landingHtml).toMatch(/<form method="post"><button type="submit">Reveal<\/button><\/form>/);
    expect(landingHtml).not.toContain(stack.graph.applications()[0]!.appId);
    expect(landingHtml).not.toMatch(/Client secret/);

    // Reveal shows the secret once; the fingerprint proves it is the one in Entra.
    const page = await pressReveal(url);
    expect(page.status).toBe(200);
    expectPageHeaders(page);
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
    for (const again of [await pressReveal(url), await view(url)]) {
      expect(again.status).toBe(410);
      expect(await again.text()).not.toContain(secretValue);
    }

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
    expect((await view(`${stack.url}/handoff/${token}`)).status).toBe(200); // a scanner's GET uses nothing up
    clock.t += 16 * 60_000;
    // Fetched after expiry (before the sweep): says so, and neither reveals nor keeps the cleanup from running.
    expect((await view(`${stack.url}/handoff/${token}`)).status).toBe(410);
    expect((await pressReveal(`${stack.url}/handoff/${token}`)).status).toBe(410);
    expect(await stack.bot.provisioning.expireHandoffs()).toBe(1);

    const card = await stack.waitForCard(activityId, runFinished);
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(cardText(card)).toMatch(/expired before anyone opened it/);
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(0);
    expect((await stack.bot.repo.getRegistration("contoso"))?.secrets ?? []).toHaveLength(0);
    expect((await view(`${stack.url}/handoff/${token}`)).status).toBe(410);
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  });

  it("a link scanner fetching the link uses nothing up; the reveal is recorded for the operator", async () => {
    const { activityId } = await stack.reviewPlan("contoso");
    await stack.press(activityId, "Approve", { user: USERS.approver });
    await stack.waitForCard(activityId, (c) => /waiting for Megan Bowen/.test(cardText(c)));
    const dm = await stack.connector.waitFor((cur) => cur.find((a) => /\/handoff\//.test(JSON.stringify(a.activity))));
    const token = JSON.stringify(dm.activity).match(/\/handoff\/([A-Za-z0-9_-]{43})/)![1]!;
    const url = `${stack.url}/handoff/${token}`;
    const tokenHash = (await stack.bot.repo.listRequests())[0]!.run!.handoff!.tokenHash;

    // Defender Safe Links (and preview fetchers) GET the URL, sometimes more than once.
    for (let i = 0; i < 3; i++) {
      const scanned = await view(url);
      expect(scanned.status).toBe(200);
      expect(await scanned.text()).toContain("Reveal");
    }
    const before = (await stack.bot.repo.getHandoff(tokenHash))!.value;
    expect(before.sealed).not.toBe("");
    expect(before.revealedAt).toBeUndefined();
    expect(before.consumedAt).toBeUndefined();

    // The operator still gets the values, once.
    const revealed = await pressReveal(url);
    expect(revealed.status).toBe(200);
    const secretValue = (await revealed.text())
      .match(/Client secret<\/th><td><code>([^<]+)<\/code>/)![1]!
      .replace(/&#(\d+);/g, (_m, c) => String.fromCharCode(Number(c)));
    expect(stack.graph.issuedSecrets()).toContain(secretValue);
    const after = (await stack.bot.repo.getHandoff(tokenHash))!.value;
    expect(after.sealed).toBe("");
    expect(Date.parse(after.revealedAt!)).toBeGreaterThan(0);
    expect(after.operatorId).toBe(USERS.approver.aadObjectId);
    expect(stack.everything()).not.toContain(secretValue);
  });

  // Enable when the domain's "Applied in UMP" check reads the hand-off record (helper "engine" owns
  // src/domain/createProvisioning.ts): accept only from HandoffRecord.operatorId, only after revealedAt.
  it("accepts Applied in UMP only from the operator the link was sent to, and only after the reveal", async () => {
    const { activityId } = await stack.reviewPlan("contoso");
    await stack.press(activityId, "Approve", { user: USERS.approver });
    await stack.waitForCard(activityId, (c) => /waiting for Megan Bowen/.test(cardText(c)));
    const created = await stack.connector.waitFor(() => stack.connector.conversationsCreated[0]);
    const dm = await stack.connector.waitFor((cur) =>
      cur.find((a) => a.conversationId === created.id && a.activity?.attachments?.length),
    );
    const dmCard = dm.activity.attachments[0].content;
    const token = JSON.stringify(dmCard).match(/\/handoff\/([A-Za-z0-9_-]{43})/)![1]!;

    // Before the reveal: refused, even from the operator.
    const early = await stack.press(dm.activityId, "Applied in UMP", { user: USERS.approver, card: dmCard });
    expect(cardText(early.card)).toMatch(/reveal|open the link/i);
    expect((await stack.bot.repo.listRequests())[0]!.run!.handoff!.appliedAt).toBeUndefined();

    expect((await pressReveal(`${stack.url}/handoff/${token}`)).status).toBe(200);

    // After the reveal, from the requester: Teams shows them no such button (they are not in that chat),
    // so the attempt is a forged invoke naming the chat's message. Refused.
    const action = findAction(dmCard, "Applied in UMP");
    const base = activityBase({ serviceUrl: stack.connector.url, user: USERS.requester, tenantId: TENANT });
    const forged = await fetch(`${stack.url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        cardActionActivity({ ...base, conversation: { ...base.conversation, id: created.id } }, dm.activityId, {
          title: "Applied in UMP",
          verb: action.verb,
          data: action.data ?? {},
        }),
      ),
    });
    expect(JSON.stringify(await forged.json())).toMatch(/Only the operator/);
    expect((await stack.bot.repo.listRequests())[0]!.run!.handoff!.appliedAt).toBeUndefined();

    const ok = await stack.press(dm.activityId, "Applied in UMP", { user: USERS.approver, card: dmCard });
    expect(cardText(ok.card)).toMatch(/applied in UMP by Megan Bowen/);
    const done = await stack.waitForCard(activityId, runFinished);
    expect(done.body[0].text).toBe("Provision for contoso: succeeded");
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  });

  it("refuses a forged or unknown link", async () => {
    for (const path of [`/handoff/${"A".repeat(43)}`, "/handoff/..%2f..%2fetc"]) {
      expect((await view(`${stack.url}${path}`)).status).toBe(404);
      expect((await pressReveal(`${stack.url}${path}`)).status).toBe(404);
    }
  });
});
