// Every card renders to a complete Adaptive Card: no unresolved `${`, Action.Execute buttons with the
// contract's titles, the contract's input ids, and user text shown rather than evaluated.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: template syntax inside user text is what these tests feed in

import { describe, expect, it } from "vitest";
import { validateParameters } from "../../src/domain/spec";
import { freshPlan, NOW, PARAMS } from "../support/fixtures";
import { approvalCard } from "../../src/bot/cards/approvalCard";
import { driftCard } from "../../src/bot/cards/driftCard";
import { handoffCard } from "../../src/bot/cards/handoffCard";
import { helpCard } from "../../src/bot/cards/helpCard";
import { historyCard } from "../../src/bot/cards/historyCard";
import { parametersCard } from "../../src/bot/cards/parametersCard";
import { reminderCard } from "../../src/bot/cards/reminderCard";
import type { Card } from "../../src/bot/cards/renderCard";
import { assessRegistrations, statusCard } from "../../src/bot/cards/statusCard";
import type { AuditEvent, RegistrationRecord, RequestRecord, RequestState, RunRecord } from "../../src/domain/records";

const TENANT = "11111111-2222-3333-4444-555555555555";
const params = PARAMS;
const plan = freshPlan();

const run: RunRecord = {
  id: "run-1",
  startedAt: "2025-03-01T12:05:00.000Z",
  finishedAt: "2025-03-01T12:06:00.000Z",
  owner: "proc-1",
  leaseUntil: "2025-03-01T12:07:00.000Z",
  steps: [
    { name: "upsertApplication", status: "done", detail: "created" },
    { name: "addSecret", status: "done" },
    { name: "writeUmp", status: "done", detail: "revision 7" },
    { name: "portalUrl", status: "done" },
    { name: "verify", status: "done" },
    { name: "tidy", status: "done" },
  ],
  objectId: "obj-1",
  appId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  newSecret: {
    keyId: "key-123",
    displayName: "syncbot:ump:run-1",
    hint: "Abc",
    endDateTime: "2027-03-01T12:05:00.000Z",
    fingerprint: "sha256:0123456789abcdef",
  },
  umpRevision: 7,
  verification: { ok: true, differences: [], tokenProof: "ok", at: "2025-03-01T12:06:00.000Z" },
};

function request(state: RequestState, overrides: Partial<RequestRecord> = {}): RequestRecord {
  const base: RequestRecord = {
    id: "req-1",
    customer: "contoso",
    kind: "provision",
    params,
    service: "ump",
    state,
    requester: { id: "aaaaaaaa-0000-0000-0000-000000000001", name: "Alice" },
    tenantId: TENANT,
    conversation: {},
    plan,
    createdAt: "2025-03-01T11:00:00.000Z",
    expiresAt: "2025-03-02T11:00:00.000Z",
    correlationId: "corr-0123456789",
  };
  if (state !== "planned" && state !== "rejected" && state !== "expired")
    base.approver = {
      id: "bbbbbbbb-0000-0000-0000-000000000002",
      name: "Bob",
      via: "allow-list",
      at: "2025-03-01T12:04:00.000Z",
    };
  if (state === "rejected")
    base.rejectedBy = { id: "bbbbbbbb-0000-0000-0000-000000000002", name: "Bob", at: "2025-03-01T12:04:00.000Z" };
  if (state === "running")
    base.run = {
      ...run,
      finishedAt: undefined,
      steps: run.steps.map((s, i) => (i < 2 ? s : { ...s, status: "pending" })),
    };
  if (state === "succeeded") base.run = run;
  if (state === "failed")
    base.run = {
      ...run,
      verification: undefined,
      steps: [{ name: "upsertApplication", status: "failed" }],
      error: {
        step: "upsertApplication",
        code: "throttled",
        message: "Graph kept answering 429",
        hint: "Try again later.",
      },
    };
  return { ...base, ...overrides };
}

const registration: RegistrationRecord = {
  customer: "contoso",
  params,
  objectId: "obj-1",
  appId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  conversation: {},
  secrets: [
    {
      keyId: "key-123",
      service: "ump",
      runId: "run-1",
      displayName: "syncbot:ump:run-1",
      hint: "Abc",
      endDateTime: "2025-04-01T12:00:00.000Z",
      fingerprint: "sha256:0123456789abcdef",
      createdAt: "2025-03-01T12:05:00.000Z",
      status: "active",
    },
  ],
  ump: { revision: 7, fingerprint: "sha256:0123456789abcdef", portalValidated: true, at: "2025-03-01T12:06:00.000Z" },
  createdAt: "2025-03-01T12:05:00.000Z",
  updatedAt: "2025-03-01T12:06:00.000Z",
};

const events: AuditEvent[] = [
  {
    id: "e1",
    at: "2025-03-01T12:00:00.000Z",
    customer: "contoso",
    actor: "Alice",
    action: "plan",
    outcome: "ok",
    correlationId: "corr-0123456789",
  },
  {
    id: "e2",
    at: "2025-03-01T12:04:00.000Z",
    customer: "contoso",
    actor: "Bob",
    action: "approve",
    outcome: "ok",
    correlationId: "corr-0123456789",
    detail: "via allow-list",
  },
];

// ---------------------------------------------------------------------------------------------

type Node = Record<string, unknown>;
function walk(v: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(v)) for (const x of v) walk(x, visit);
  else if (v && typeof v === "object") {
    visit(v as Node);
    for (const x of Object.values(v)) walk(x, visit);
  }
}
function actions(card: Card): Node[] {
  const out: Node[] = [];
  walk(card, (n) => {
    if (typeof n.type === "string" && n.type.startsWith("Action.")) out.push(n);
  });
  return out;
}
const titles = (card: Card) => actions(card).map((a) => a.title);
function inputIds(card: Card): string[] {
  const out: string[] = [];
  walk(card, (n) => {
    if (typeof n.type === "string" && n.type.startsWith("Input.")) out.push(n.id as string);
  });
  return out;
}
function texts(card: Card): string {
  const out: string[] = [];
  walk(card, (n) => {
    for (const k of ["text", "title", "value"])
      if (typeof n[k] === "string" || typeof n[k] === "number") out.push(String(n[k]));
  });
  return out.join("\n");
}
function expectWellFormed(card: Card): void {
  expect(card.type).toBe("AdaptiveCard");
  const json = JSON.stringify(card);
  expect(json).not.toContain("${");
  expect(json).not.toContain("$when");
  expect(json).not.toContain('"$data"');
  for (const a of actions(card)) {
    expect(typeof a.title).toBe("string");
    if (a.type === "Action.Execute") expect(a.verb).toMatch(/^[a-z]+\.[a-zA-Z]+$/);
    else expect(a.type).toBe("Action.OpenUrl");
  }
  for (const title of ["Review plan", "Approve", "Reject", "Rotate secret"])
    for (const a of actions(card).filter((x) => x.title === title)) expect(a.type).toBe("Action.Execute");
}

const CONTRACT_INPUTS = [
  "customer",
  "appName",
  "serviceProviderFqdn",
  "displayName",
  "umpInstance",
  "secretLifetimeMonths",
];

// ---------------------------------------------------------------------------------------------

describe("parametersCard", () => {
  it("renders the contract's inputs and the Review plan button", () => {
    const card = parametersCard({ values: { customer: "contoso" } });
    expectWellFormed(card);
    expect(inputIds(card)).toEqual(CONTRACT_INPUTS);
    expect(titles(card)).toEqual(["Review plan"]);
    expect(actions(card)[0]).toMatchObject({ type: "Action.Execute", verb: "provision.review" });
    expect(texts(card)).not.toContain("Some values need fixing");
  });

  it("pre-fills values and shows each field's error", () => {
    const card = parametersCard({
      values: { ...params, secretLifetimeMonths: 12 },
      errors: { appName: "Must be a DNS label.", secretLifetimeMonths: "A whole number of months from 1 to 24." },
    });
    expectWellFormed(card);
    expect(inputIds(card)).toEqual(CONTRACT_INPUTS);
    const text = texts(card);
    expect(text).toContain("Must be a DNS label.");
    expect(text).toContain("A whole number of months from 1 to 24.");
    expect(text).toContain("Some values need fixing");
    const inputs: Node[] = [];
    walk(card, (n) => {
      if (typeof n.type === "string" && n.type.startsWith("Input.")) inputs.push(n);
    });
    expect(inputs.find((i) => i.id === "serviceProviderFqdn")?.value).toBe("ump.example.com");
    expect(Number(inputs.find((i) => i.id === "secretLifetimeMonths")?.value)).toBe(12);
  });

  it("shows user text containing ${...} neutralised, not evaluated", () => {
    const card = parametersCard({ values: { customer: "contoso", displayName: "Evil ${customerTitle} ${1+1}" } });
    expectWellFormed(card);
    const input = inputs(card).find((i) => i.id === "displayName")!;
    expect(String(input.value)).toMatch(/^Evil \$\u200B?\{customerTitle\} \$\u200B?\{1\+1\}$/);
    expect(String(input.value)).not.toContain("contoso");
    expect(String(input.value)).not.toContain("2");
  });
});

function inputs(card: Card): Node[] {
  const out: Node[] = [];
  walk(card, (n) => {
    if (typeof n.type === "string" && n.type.startsWith("Input.")) out.push(n);
  });
  return out;
}

describe("approvalCard", () => {
  const states: RequestState[] = ["planned", "approved", "running", "succeeded", "failed", "rejected", "expired"];

  it.each(states)("renders a %s request completely", (state) => {
    const card = approvalCard({ request: request(state), spTenantId: TENANT, allowSelfApproval: false });
    expectWellFormed(card);
    const t = titles(card);
    if (state === "planned") {
      expect(t).toEqual(["Approve", "Reject"]);
      const approve = actions(card).find((a) => a.title === "Approve")!;
      expect(approve).toMatchObject({ verb: "approval.approve", data: { requestId: "req-1", planHash: plan.hash } });
      expect(actions(card).find((a) => a.title === "Reject")).toMatchObject({
        verb: "approval.reject",
        data: { requestId: "req-1" },
      });
    } else {
      expect(t).not.toContain("Approve");
      expect(t).not.toContain("Reject");
    }
    if (state === "failed" || state === "expired") {
      const retry = actions(card).find((a) => a.title === "Review plan")!;
      expect(retry).toMatchObject({ type: "Action.Execute", verb: "provision.review" });
      expect(Object.keys(retry.data as object)).toEqual(expect.arrayContaining(CONTRACT_INPUTS));
    }
    expect(texts(card)).not.toContain("Four-eyes");
  });

  it("shows the plan and the approval's expiry", () => {
    const text = texts(approvalCard({ request: request("planned"), spTenantId: TENANT, allowSelfApproval: false }));
    expect(text).toContain("create app registration");
    expect(text).toContain("add client secret");
    expect(text).toContain("Approval expires");
    expect(text).toContain("2025-03-02 11:00 UTC");
  });

  it("shows the contract's result facts after a successful run", () => {
    const text = texts(approvalCard({ request: request("succeeded"), spTenantId: TENANT, allowSelfApproval: false }));
    for (const expected of [
      "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      "obj-1",
      "https://umptoken.ump.example.com/authenticate/OAuth2Callback",
      "https://umptoken.ump.example.com/authenticate",
      "key-123",
      "Abc",
      "2027-03-01",
      "7",
      `https://login.microsoftonline.com/${TENANT}/adminconsent?client_id=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee`,
    ])
      expect(text).toContain(expected);
  });

  it("shows the failed step and its error", () => {
    const text = texts(approvalCard({ request: request("failed"), spTenantId: TENANT, allowSelfApproval: false }));
    expect(text).toContain("throttled");
    expect(text).toContain("Try again later.");
  });

  it("warns that four-eyes is off when self-approval is allowed", () => {
    const card = approvalCard({ request: request("planned"), spTenantId: TENANT, allowSelfApproval: true });
    expectWellFormed(card);
    expect(texts(card)).toMatch(/Four-eyes is OFF/);
  });

  it("shows a display name containing ${...} neutralised", () => {
    const r = request("failed", { params: { ...params, displayName: "x ${requestId} y" }, customer: "${planHash}" });
    const card = approvalCard({ request: r, spTenantId: TENANT, allowSelfApproval: false, notice: "${notice}" });
    expectWellFormed(card);
    const json = JSON.stringify(card);
    expect(json).not.toContain("x req-1 y");
    expect(json).not.toContain(`for ${plan.hash}`);
  });
});

describe("statusCard", () => {
  const status = (regs: RegistrationRecord[], title = "Registrations", failed = new Set<string>()) =>
    statusCard({ entries: assessRegistrations(regs, NOW, failed), now: NOW, title });

  it("shows each registration with a Rotate secret button", () => {
    const drifted = {
      ...registration,
      lastVerification: { ok: false, differences: ["x"], tokenProof: "ok" as const, at: NOW.toISOString() },
    };
    const card = status([drifted]);
    expectWellFormed(card);
    expect(titles(card)).toEqual(["Rotate secret"]);
    expect(actions(card)[0]).toMatchObject({ verb: "secret.rotate", data: { customer: "contoso", service: "ump" } });
    const text = texts(card);
    expect(text).toContain("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    expect(text).toContain("31 days left");
    expect(text).toContain("DRIFT: last verification found differences");
  });

  it("says when there is nothing to show", () => {
    const card = status([]);
    expectWellFormed(card);
    expect(titles(card)).toEqual([]);
    expect(texts(card)).toContain("provision <customer>");
  });

  it("neutralises ${...} in stored values", () => {
    const card = status([{ ...registration, customer: "${title}" }], "T");
    expectWellFormed(card);
  });
});

describe("driftCard", () => {
  it("offers Review plan when there are differences", () => {
    const card = driftCard("contoso", params, ["displayName differs", "secret ${x} orphaned"]);
    expectWellFormed(card);
    expect(titles(card)).toEqual(["Review plan"]);
    expect(actions(card)[0]).toMatchObject({
      verb: "provision.review",
      data: { customer: "contoso", appName: "umptoken" },
    });
    expect(texts(card)).toContain("displayName differs");
  });

  it("offers nothing when live state matches", () => {
    const card = driftCard("contoso", params, []);
    expectWellFormed(card);
    expect(titles(card)).toEqual([]);
  });

  it("renders an error without parameters", () => {
    const card = driftCard("contoso", null, [], "Graph is unreachable.");
    expectWellFormed(card);
    expect(texts(card)).toContain("Graph is unreachable.");
  });
});

describe("historyCard", () => {
  it("lists the events and offers older ones", () => {
    const card = historyCard("contoso", events, "cursor-2");
    expectWellFormed(card);
    expect(texts(card)).toContain("approve");
    expect(actions(card)).toEqual([
      expect.objectContaining({
        type: "Action.Execute",
        verb: "history.more",
        data: { customer: "contoso", after: "cursor-2" },
      }),
    ]);
  });

  it("says when there are no events", () => {
    const card = historyCard("contoso", [], undefined);
    expectWellFormed(card);
    expect(texts(card)).toContain("No recorded events.");
    expect(actions(card)).toEqual([]);
  });

  it("neutralises ${...} in event details", () => {
    expectWellFormed(historyCard("contoso", [{ ...events[0]!, detail: "${customer}" }], undefined));
  });
});

describe("helpCard", () => {
  it("lists every command", () => {
    const card = helpCard("I did not understand that.");
    expectWellFormed(card);
    const text = texts(card);
    for (const c of [
      "provision <customer>",
      "status",
      "check <customer>",
      "rotate <customer>",
      "history <customer>",
      "help",
    ])
      expect(text).toContain(c);
    expect(text).toContain("I did not understand that.");
    expectWellFormed(helpCard());
  });
});

describe("reminderCard", () => {
  const view = {
    customer: "contoso",
    service: "ump",
    clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    keyId: "key-123",
    hint: "Abc",
    endDateTime: "2025-03-08T12:00:00.000Z",
    daysLeft: 7,
  };

  it("offers Rotate secret", () => {
    const card = reminderCard(view);
    expectWellFormed(card);
    expect(titles(card)).toContain("Rotate secret");
    expect(actions(card).find((a) => a.title === "Rotate secret")).toMatchObject({
      verb: "secret.rotate",
      data: { customer: "contoso" },
    });
    expect(texts(card)).toContain("expires in 7 days");
  });

  it("says EXPIRED for a past secret and hides buttons on request", () => {
    const card = reminderCard({ ...view, daysLeft: -2, showButtons: false, notice: "Snoozed" });
    expectWellFormed(card);
    expect(texts(card)).toContain("EXPIRED");
    expect(titles(card)).toEqual([]);
  });
});

describe("reminderCard (built without the template engine)", () => {
  it("is exactly the card the adaptiveCards template gave: text, facts, escaped notice, both buttons", () => {
    // The JSON the former adaptiveCards/reminder.json expansion produced for this view.
    const card = reminderCard({
      customer: "c3-x",
      service: "ump",
      clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      keyId: "key-3",
      hint: "",
      endDateTime: "2025-03-08T12:00:00.000Z",
      daysLeft: 1,
      notice: "note ${x} *bold* <b>",
    });
    expect(JSON.stringify(card)).toBe(
      JSON.stringify({
        type: "AdaptiveCard",
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        version: "1.5",
        body: [
          {
            type: "TextBlock",
            text: "The ump secret of c3-x expires in 1 day",
            weight: "Bolder",
            size: "Medium",
            wrap: true,
            color: "Attention",
          },
          {
            type: "FactSet",
            facts: [
              { title: "Customer", value: "c3-x" },
              { title: "Client ID", value: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" },
              { title: "Secret keyId", value: "key-3" },
              { title: "Secret hint", value: "—" },
              { title: "Expires", value: "2025-03-08 12:00 UTC" },
              { title: "Days left", value: "1" },
            ],
          },
          { type: "TextBlock", text: "note $\u200B{x} \\*bold\\* \\<b\\>", wrap: true, weight: "Bolder" },
        ],
        actions: [
          {
            type: "Action.Execute",
            title: "Rotate secret",
            verb: "secret.rotate",
            data: { customer: "c3-x", service: "ump" },
          },
          {
            type: "Action.Execute",
            title: "Snooze",
            verb: "reminder.snooze",
            data: { customer: "c3-x", keyId: "key-3" },
          },
        ],
      }),
    );
  });

  it("leaves out an empty notice and, on request, the buttons; template syntax in data is shown, not kept live", () => {
    const card = reminderCard({
      customer: "c",
      service: "ump",
      clientId: "id",
      keyId: "${keyId}",
      hint: "h",
      endDateTime: "2025-03-08T12:00:00.000Z",
      daysLeft: 20,
      showButtons: false,
    }) as any;
    expect(card.body).toHaveLength(2);
    expect(card.body[0].color).toBe("Warning");
    expect(card.actions).toEqual([]);
    expect(JSON.stringify(card)).not.toContain("${");
  });
});

describe("handoffCard", () => {
  it("offers the one-time link and Applied in UMP", () => {
    const card = handoffCard({
      title: "Hand-off",
      body: "Open the link",
      link: "https://bot.example.com/handoff/abc",
      requestId: "req-1",
      showButtons: true,
    });
    expectWellFormed(card);
    expect(actions(card).map((a) => [a.type, a.title])).toEqual([
      ["Action.OpenUrl", "Open the one-time link"],
      ["Action.Execute", "Applied in UMP"],
    ]);
  });

  it("renders without a link or buttons", () => {
    const card = handoffCard({ title: "Hand-off", body: "Done ${x}", requestId: "req-1", showButtons: false });
    expectWellFormed(card);
    expect(actions(card)).toEqual([]);
  });
});

describe("card layout for Teams", () => {
  it("wide cards ask Teams for the full width", () => {
    for (const card of [
      parametersCard({ values: { customer: "contoso" } }),
      approvalCard({ request: request("planned"), spTenantId: TENANT, allowSelfApproval: false }),
      statusCard({ entries: [], now: NOW, title: "T" }),
      historyCard("contoso", events, undefined),
      driftCard("contoso", params, ["x"]),
    ])
      expect(card.msteams).toEqual({ width: "Full" });
  });

  it("the history card pages with a Next page button", () => {
    expect(titles(historyCard("contoso", events, "cursor-2"))).toEqual(["Next page"]);
  });

  it("parameters inputs carry a client-side regex and a specific error message that agree with the server", () => {
    const card = parametersCard({ values: { customer: "contoso" } });
    const byId = new Map(inputs(card).map((i) => [i.id as string, i]));
    for (const id of ["customer", "appName", "serviceProviderFqdn", "displayName", "umpInstance"]) {
      const input = byId.get(id)!;
      expect(typeof input.regex, id).toBe("string");
      expect(String(input.errorMessage)).not.toBe("Required");
      expect(String(input.errorMessage).length).toBeGreaterThan(15);
    }
    expect(byId.get("secretLifetimeMonths")?.errorMessage).toMatch(/1 to 24/);
    // Whatever the server accepts, the client-side regex accepts too (the server still decides).
    const samples: Record<string, string[]> = {
      customer: ["contoso", "a", "a-b-9", "Contoso", " contoso ", "-x", "x-", "a_b", "x".repeat(41), "ümlaut"],
      appName: ["umptoken", "a", "Ump-Token", "a.b", "-a", "x".repeat(64), "bad_name!"],
      serviceProviderFqdn: ["ump.example.com", "UMP.Example.com.", "localhost", "https://x.y", "a..b", "a.b:443"],
      displayName: ["UMP-365 Delegated Token Sync - contoso", "<script>", "x".repeat(121), "Evil ${x}"],
      umpInstance: ["ump-contoso", "Ump_1.x", "-x", "x".repeat(65), "a b"],
    };
    for (const [id, values] of Object.entries(samples))
      for (const value of values) {
        const server = validateParameters({ ...params, [id]: value });
        const client = new RegExp(String(byId.get(id)!.regex)).test(value);
        if (server.ok) expect(client, `${id}=${JSON.stringify(value)}`).toBe(true);
      }
    expect(new RegExp(String(byId.get("serviceProviderFqdn")!.regex)).test("https://x.y")).toBe(false);
    expect(new RegExp(String(byId.get("appName")!.regex)).test("bad_name!")).toBe(false);
  });
});
