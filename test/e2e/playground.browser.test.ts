// Browser test: the real Microsoft 365 Agents Playground (the Teams-like web client of `npm run dev`) in
// Debian's Chromium, driven with playwright-core. It starts the same stack as `npm run dev` on free
// ports, provisions contoso from the Ops channel as the Playground's user (Megan Bowen, from
// `.m365agentsplayground.yml`), and reads the result from the page. A second stack with
// ALLOW_SELF_APPROVAL=false shows the refusal and leaves the Graph emulator untouched.
// The plan must reach the channel message itself (Bot Connector updateActivity), not only the invoke
// answer, which Teams shows to the presser alone. The Playground keeps the invoke answer's card even
// across a conversation switch, so that cannot tell the two apart; instead the first test has Graph
// throttle Review plan's first read (429, Retry-After): the invoke is answered with "Reading…" and the
// plan with Approve can then only arrive as an update of the posted message.
// Screenshots of every stage go to test-output/playground/. Skipped (with a printed reason) only when
// /usr/bin/chromium is missing; `.ci/run` installs it.

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { type DevStack, startDevStack } from "../../scripts/devStack";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `SKIPPED test/e2e/playground.browser.test.ts: ${CHROMIUM} is not installed ` +
      "(apt-get install chromium fonts-liberation; .ci/run installs it).",
  );

const ROOT = join(__dirname, "..", "..");
const OUT = join(ROOT, "test-output", "playground");
const DOCS_SHOT = join(ROOT, "docs", "result-card.png");
const UI_TIMEOUT = 20_000;
/** Retry-After of the 429 Graph answers Review plan's first read with; longer than the bot's invoke budget. */
const THROTTLE_SECONDS = 5;

/** The parameters card's `errorMessage` for the app name (adaptiveCards/parameters.json). */
const APP_NAME_ERROR = "A DNS label: 1-63 letters, digits or hyphens";

const LABELS = [
  "Customer (short name)",
  "App name (first label of the portal host name)",
  "Service provider FQDN",
  "Display name of the app registration",
  "UMP instance",
  "Secret lifetime (months, 1 to 24)",
];

/** The Playground's identity, read from the same file the Playground reads. */
function playgroundUser(): { name: string; aadObjectId: string } {
  const yml = readFileSync(join(ROOT, ".m365agentsplayground.yml"), "utf8");
  const block = yml.split(/^currentUser:\s*$/m)[1] ?? "";
  const name = /^\s+name:\s*(.+)$/m.exec(block)?.[1]?.trim();
  const aadObjectId = /^\s+aadObjectId:\s*(\S+)/m.exec(block)?.[1];
  if (!name || !aadObjectId) throw new Error("currentUser not found in .m365agentsplayground.yml");
  return { name, aadObjectId };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

interface Session {
  stack: DevStack;
  context: BrowserContext;
  page: Page;
  logs: string[];
  shot(stage: string, target?: Locator): Promise<string>;
  cleanup(): Promise<void>;
}

const sessions: Session[] = [];
afterEach(async (ctx) => {
  for (const s of sessions.splice(0)) {
    if (ctx.task.result?.state === "fail") {
      await s.shot("failure").catch(() => undefined);
      console.error(`--- bot log (last 40 lines) ---\n${s.logs.slice(-40).join("\n")}`);
    }
    await s.cleanup();
  }
});

async function openPlayground(scenario: string, env: Record<string, string>): Promise<Session> {
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) if (f.startsWith(`${scenario}-`)) rmSync(join(OUT, f));
  const tmp = mkdtempSync(join(tmpdir(), "syncbot-playground-"));
  const [botPort, graphPort, umpPort, playgroundPort] = (await distinctFreePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const logs: string[] = [];
  const stack = await startDevStack({
    root: ROOT,
    botPort,
    graphPort,
    umpPort,
    playgroundPort,
    sqlitePath: join(tmp, "syncbot.db"),
    env: { LOG_LEVEL: "info", ...env },
    log: (l) => logs.push(l),
  });
  let context: BrowserContext | undefined;
  const cleanup = async () => {
    await context?.close().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    writeFileSync(join(OUT, `${scenario}.bot.log`), logs.map((l) => `${l}\n`).join(""));
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      // Tall enough for the whole result card: an element screenshot is cut at the chat pane's bottom.
      viewport: { width: 1400, height: 2600 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    context.setDefaultTimeout(UI_TIMEOUT);
    // Offline: fail the Playground's web fonts, telemetry and help links at once instead of waiting on them.
    await context.route(/^https?:\/\/(?!localhost[:/]|127\.0\.0\.1[:/])/, (route) => route.abort());
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(stack.playgroundUrl, { waitUntil: "domcontentloaded" });
    // The Playground silently takes a random port when the one asked for is taken: make sure the page we
    // opened is the Playground connected to *this* bot.
    await page.getByText(`Connecting to your application at ${stack.botUrl}/api/messages`).first().waitFor();
    await page.getByText("Connected.", { exact: true }).first().waitFor();
    let n = 0;
    const shot = async (stage: string, target?: Locator) => {
      const path = join(OUT, `${scenario}-${String(++n).padStart(2, "0")}-${stage}.png`);
      await (target ?? page).screenshot({ path });
      return path;
    };
    const session: Session = { stack, context, page, logs, shot, cleanup };
    sessions.push(session);
    return session;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Rendered, visible text (what a person reads), not the DOM's textContent. */
// biome-ignore lint/performance/useDomNodeTextContent: the checks are about what the page shows
const visibleText = (l: Locator) => l.innerText();
/** The page's whole visible text (cards, chat, log panel). */
const pageText = (page: Page) => visibleText(page.locator("body"));

async function expectNoTemplateText(page: Page) {
  expect(await pageText(page)).not.toContain("${");
}

/** The Adaptive Card (rendered by the Playground) that contains `text`, the newest one. */
const cardWith = (page: Page, text: string | RegExp) =>
  page.locator(".ac-adaptiveCard").filter({ hasText: text }).last();

async function postInOpsChannel(page: Page, command: string) {
  await page.locator('button[aria-label="My Team - Ops"]').click();
  // After a first post the channel also shows a reply box under it: the new-post composer is the first.
  const composer = page.locator('[data-lexical-editor="true"][role="textbox"]').first();
  await composer.click();
  await composer.pressSequentially("@syncb");
  await page.getByRole("menuitem", { name: "syncbot" }).click();
  await composer.pressSequentially(` ${command}`);
  await page.getByRole("button", { name: "Post", exact: true }).click();
}

/** The bot's messages in the open conversation: cards, one per message (a new post adds one). */
const botCards = (page: Page) => page.locator(".ac-adaptiveCard");

/**
 * From the Ops channel to the approval card, checking the parameters card's layout on the way. With
 * `throttledReview`, Graph answers Review plan's first read with 429: the invoke answer is the
 * "Reading…" card, and the plan must then replace the channel message through the Bot Connector.
 */
async function reachApprovalCard(s: Session, opts: { throttledReview?: boolean } = {}): Promise<Locator> {
  const { page } = s;
  await postInOpsChannel(page, "provision contoso");
  const params = cardWith(page, "Provision the UMP-365 Sync App for contoso");
  await params.getByRole("button", { name: "Review plan" }).waitFor();
  await s.shot("parameters-card");

  // Layout: every input has its visible label; no unresolved template text anywhere.
  for (const label of LABELS) {
    expect.soft(await params.getByText(label, { exact: true }).isVisible(), `label "${label}" visible`).toBe(true);
    expect.soft(await params.getByLabel(label).isVisible(), `input labelled "${label}" visible`).toBe(true);
  }
  expect(await params.getByLabel(LABELS[1]!).inputValue()).toBe("contoso");
  await expectNoTemplateText(page);

  // An invalid app name: the card's own check (its `regex` and `errorMessage`; the bot validates again)
  // shows the error right under the app name field, before the next field.
  await params.getByLabel(LABELS[1]!).fill("Bad_Name!");
  await params.getByRole("button", { name: "Review plan" }).click();
  const error = params.getByText(APP_NAME_ERROR, { exact: false });
  await error.waitFor();
  await s.shot("app-name-error");
  const appNameBox = (await params.getByLabel(LABELS[1]!).boundingBox())!;
  const errorBox = (await error.boundingBox())!;
  const nextLabelBox = (await params.getByText(LABELS[2]!, { exact: true }).boundingBox())!;
  expect(errorBox.y).toBeGreaterThanOrEqual(appNameBox.y + appNameBox.height - 1);
  expect(errorBox.y + errorBox.height).toBeLessThanOrEqual(nextLabelBox.y + 1);
  expect(errorBox.y - (appNameBox.y + appNameBox.height)).toBeLessThan(40);
  for (const label of LABELS)
    expect.soft(await params.getByText(label, { exact: true }).isVisible(), `label "${label}" visible`).toBe(true);
  await expectNoTemplateText(page);

  // Fix it and press again: the plan with Approve and Reject.
  await params.getByLabel(LABELS[1]!).fill("contoso");
  if (opts.throttledReview)
    s.stack.graph.injectFault({ status: 429, retryAfterSeconds: THROTTLE_SECONDS, count: 1, match: { method: "GET" } });
  const pressed = Date.now();
  await params.getByRole("button", { name: "Review plan" }).click();
  const approval = cardWith(page, /approval needed/i);
  if (opts.throttledReview) {
    // The invoke answer: what is happening, no buttons to approve yet.
    const reading = cardWith(page, "Reading the live registration and UMP settings");
    await reading.waitFor();
    const answeredMs = Date.now() - pressed;
    await s.shot("reading-card");
    expect(await visibleText(reading)).toContain("Provision for contoso: preparing the plan");
    expect(await reading.getByRole("button", { name: "Approve" }).count()).toBe(0);
    expect(
      s.stack.graph.requests.some((r) => r.status === 429),
      "Graph throttled Review plan's read",
    ).toBe(true);
    // Graph is still holding the plan back (Retry-After), so this card is the invoke's own answer.
    expect(answeredMs, "the Reading… answer came before Graph's Retry-After ran out").toBeLessThan(
      THROTTLE_SECONDS * 1000,
    );
    expect(await approval.count()).toBe(0);
    // The plan arrives without anyone pressing anything: an update of the channel message.
    await approval.getByRole("button", { name: "Approve" }).waitFor({ timeout: THROTTLE_SECONDS * 1000 + UI_TIMEOUT });
    expect(Date.now() - pressed, "the plan waited for Graph's Retry-After").toBeGreaterThanOrEqual(
      THROTTLE_SECONDS * 1000,
    );
    expect(await page.getByText("Reading the live registration and UMP settings").count()).toBe(0);
  } else {
    await approval.getByRole("button", { name: "Approve" }).waitFor();
  }
  // Still one bot message in the channel: the plan replaced the parameters card in place, no new post.
  expect(await botCards(page).count()).toBe(1);
  expect(await approval.getByRole("button", { name: "Reject" }).isVisible()).toBe(true);
  expect(await page.getByText(APP_NAME_ERROR).count()).toBe(0);
  const plan = await visibleText(approval);
  expect(plan).toContain("https://contoso.ump.sp.example.net/authenticate");
  expect(plan).toContain(playgroundUser().name); // Requested by: the Playground's user
  await expectNoTemplateText(page);
  return approval;
}

describe.skipIf(!hasChromium)("Agents Playground in Chromium (npm run dev stack)", () => {
  it("provisions contoso as the Playground's user with self-approval allowed and shows the client id", async () => {
    const s = await openPlayground("self-approval", {});
    const { page, stack } = s;
    const approval = await reachApprovalCard(s, { throttledReview: true });
    expect(await visibleText(approval)).toContain("Four-eyes is OFF"); // the dev configuration's visible warning
    // The Playground has no Teams SSO: dev approves without step-up, and the card says so (issue 16).
    expect(await visibleText(approval)).toContain("Verified approvals are OFF (APPROVAL_STEP_UP=off)");
    await s.shot("approval-card");
    expect(stack.graph.writes()).toHaveLength(0);

    await approval.getByRole("button", { name: "Approve" }).click();
    const result = cardWith(page, "Provision for contoso: succeeded");
    await result.waitFor({ timeout: 30_000 });
    expect(await visibleText(result)).toContain(`Approved by ${playgroundUser().name}`);
    expect(await result.getByRole("button", { name: "Approve" }).count()).toBe(0);
    await expectNoTemplateText(page);
    await result.scrollIntoViewIfNeeded();
    await s.shot("result");
    const cardShot = await s.shot("result-card", result);
    if (!existsSync(DOCS_SHOT) || process.env.UPDATE_DOCS_SCREENSHOT === "1") {
      mkdirSync(join(ROOT, "docs"), { recursive: true });
      copyFileSync(cardShot, DOCS_SHOT);
    }

    const text = await visibleText(result);
    const clientId = /Application \(client\) ID\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i.exec(
      text,
    )?.[1];
    expect(clientId, `no client id in the result card:\n${text}`).toBeDefined();
    const apps = stack.graph.applications();
    expect(apps).toHaveLength(1);
    const app = apps[0]!;
    expect(clientId).toBe(app.appId);
    // Every value an operator copies from the card, as Graph and UMP hold them.
    const results = text.split("Result (the secret itself is never shown)")[1] ?? "";
    const fact = (label: string) =>
      new RegExp(`${label.replace(/[()]/g, "\\$&")}\\s*([^\\n]+)`).exec(results)?.[1]?.trim();
    expect(fact("Object ID")).toBe(app.id);
    const sp = stack.graph.servicePrincipals().find((p) => p.appId === app.appId);
    expect(sp, "the service principal was created").toBeDefined();
    expect(fact("Service principal object ID")).toBe(sp!.id);
    expect(app.passwordCredentials).toHaveLength(1);
    const secret = app.passwordCredentials[0]!;
    expect(fact("Secret keyId")).toBe(secret.keyId);
    expect(fact("Secret hint")).toBe(secret.hint);
    expect(fact("Secret expires")).toBe(secret.endDateTime?.slice(0, 10));
    expect(fact("UMP revision")).toBe(String(stack.ump.settings("ump-contoso").revision));
    expect(fact("Redirect URL")).toBe("https://contoso.ump.sp.example.net/authenticate/OAuth2Callback");
    expect(fact("Authentication Portal URL")).toBe("https://contoso.ump.sp.example.net/authenticate");
    expect(text).toContain(
      `https://login.microsoftonline.com/${stack.graph.tenantId}/adminconsent?client_id=${app.appId}`,
    );

    // Rotate secret on the status card posts the rotation plan as a new channel message: a proactive
    // post through the Playground's own connector (the path reminders take too).
    await postInOpsChannel(page, "status contoso");
    const status = cardWith(page, "Status of contoso");
    await status.waitFor({ timeout: 15_000 });
    await status.getByRole("button", { name: "Rotate secret" }).click();
    const rotation = cardWith(page, "Rotate the secret for contoso: approval needed");
    await rotation.waitFor({ timeout: 15_000 });
    expect(await rotation.getByRole("button", { name: "Approve" }).count()).toBe(1);

    for (const issued of stack.graph.issuedSecrets()) {
      expect(await pageText(page)).not.toContain(issued);
      expect(s.logs.join("\n")).not.toContain(issued);
    }
  }, 120_000);

  it("refuses the requester's own approval when ALLOW_SELF_APPROVAL=false and writes nothing", async () => {
    const s = await openPlayground("four-eyes", { ALLOW_SELF_APPROVAL: "false" });
    const { page, stack } = s;
    const approval = await reachApprovalCard(s);
    expect(await visibleText(approval)).not.toContain("Four-eyes is OFF");
    await s.shot("approval-card");

    await approval.getByRole("button", { name: "Approve" }).click();
    const refusal = page.getByText("asked for this change and cannot approve it too", { exact: false }).last();
    await refusal.waitFor();
    expect(await refusal.isVisible()).toBe(true);
    await s.shot("refused");
    await expectNoTemplateText(page);
    // Give a wrongly started run a moment to show up before asserting nothing was written.
    await page.waitForTimeout(1000);
    expect(stack.graph.writes()).toEqual([]);
    expect(stack.graph.applications()).toEqual([]);
  }, 90_000);
});
