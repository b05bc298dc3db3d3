// status, check and history after a provisioning, as an operator reads them in the channel.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cardText, findAction, type Stack, startStack, USERS } from "../support/stack";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
  await stack.provision("contoso");
});
afterAll(async () => {
  await stack.stop();
});

describe("status, check, history", () => {
  it("status lists the registration with client id, secret countdown, UMP state and a Rotate secret button", async () => {
    await stack.say("status");
    const { card } = stack.lastCardMessage();
    const app = stack.graph.applications()[0]!;
    const secret = app.passwordCredentials[0]!;
    const text = cardText(card);
    expect(text).toContain("Registrations managed by syncbot (1)");
    expect(text).toContain(`Client ID: ${app.appId}`);
    // As Teams shows it: Markdown escapes (the hint may hold `~` or `_`) display as the character itself.
    const shown = text.replace(/\\(.)/g, "$1");
    const hint = secret.hint!.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
    expect(shown).toMatch(
      new RegExp(
        `ump secret ${secret.keyId} \\(hint ${hint}\\): expires ${secret.endDateTime!.slice(0, 10)}, 7(30|31) days left`,
      ),
    );
    expect(text).toMatch(/UMP: revision \d+, secret matches syncbot's, portal validated/);
    expect(findAction(card, "Rotate secret")?.verb).toBe("secret.rotate");
    await stack.say("status nobody");
    expect(stack.connector.activities.at(-1)?.activity.text).toMatch(/manages no registration for "nobody"/);
  });

  it("check reports no drift, then each hand-made change, with Review plan to fix it", async () => {
    const writesBefore = stack.graph.writes().length;
    await stack.say("check contoso");
    expect(cardText(stack.lastCardMessage().card)).toMatch(/match the desired spec/);
    const app = stack.graph.applications()[0]!;
    stack.graph.mutateApplication(app.id, (a) => {
      a.isFallbackPublicClient = false;
      a.web.implicitGrantSettings.enableIdTokenIssuance = false;
    });
    await stack.say("check contoso");
    const { card } = stack.lastCardMessage();
    const text = cardText(card);
    expect(text).toMatch(/2 difference/);
    expect(text).toMatch(/isFallbackPublicClient: is false, should be true/);
    expect(text).toMatch(/implicitGrantSettings: is accessTokens=true, idTokens=false/);
    expect(findAction(card, "Review plan")).toBeDefined();
    expect(stack.graph.writes()).toHaveLength(writesBefore); // check only reads
  });

  it("history shows who asked, who approved and what changed, newest first", async () => {
    await stack.say("history contoso");
    const { card } = stack.lastCardMessage();
    const lines: string[] = card.body.slice(1).map((b: any) => b.text);
    expect(lines[0]).toMatch(/run\.succeeded/);
    const all = lines.join("\n");
    expect(all).toMatch(/Alex Wilber\s+provision\.requested/);
    expect(all).toMatch(/Megan Bowen\s+approval\.approved/);
    expect(all).toMatch(/secret\.added/);
    expect(all).toMatch(/ump\.syncApp\.written/);
    const times = lines.map((l) => l.slice(0, 16));
    expect([...times].sort().reverse()).toEqual(times);
  });
});

describe("a run left behind by a dead process", () => {
  it("is picked up again by the next button press on its card", async () => {
    const { activityId } = await stack.reviewPlan("fabrikam");
    // The plan as the second admin's client shows it (before the dead process took the run).
    const seen = await stack.seesButton(USERS.approver, activityId, "Approve");
    const request = (await stack.bot.repo.listRequests()).find((r) => r.customer === "fabrikam")!;
    // As a process that approved and claimed the run, then died as its first step began: its lease ran out.
    const past = new Date(Date.now() - 60_000).toISOString();
    await stack.bot.repo.updateRequest(request.id, (r) => ({
      ...r,
      state: "running",
      approver: { ...USERS.approver, id: USERS.approver.aadObjectId, via: "allow-list", at: past },
      run: {
        id: "dead-run",
        startedAt: past,
        owner: "a-process-that-died",
        leaseUntil: past,
        steps: ["upsertApplication", "servicePrincipal", "addSecret", "writeUmp", "portalUrl", "verify", "tidy"].map(
          (name) => ({
            name: name as never,
            status: name === "upsertApplication" ? ("running" as const) : ("pending" as const),
          }),
        ),
      },
    }));
    expect(stack.graph.applications().some((a) => a.uniqueName === "syncbot-fabrikam")).toBe(false);
    // Someone presses Approve on the card they still see: refused (already running), and the run resumes.
    const press = await stack.press(activityId, "Approve", { user: USERS.approver, card: seen });
    expect(cardText(press.card)).toMatch(/already running/);
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Provision for fabrikam: succeeded");
    expect(stack.graph.applications().filter((a) => a.uniqueName === "syncbot-fabrikam")).toHaveLength(1);
    const audit = await stack.bot.repo.listAudit("fabrikam", { limit: 50 });
    expect(audit.events.some((e) => e.action === "run.resumed")).toBe(true);
  });
});
