// Issue 20, finding 2: every card renders every value it did not write itself (names, customers, pasted
// lines, errors from Graph and UMP, notices, audit details) through the one Markdown escaping, so a link,
// emphasis or a mention typed by someone is shown as typed. Each card is rendered with a hostile string
// in every such field; every text a Teams client renders as Markdown (TextBlock and TextRun text, fact
// titles and values) is then read. Identifiers Graph generates (object and app ids, a secret's keyId and
// its three-character hint) and input values (shown verbatim by Teams, never as Markdown) are not fields here.

import { describe, expect, it } from "vitest";
import { approvalCard } from "../../src/bot/cards/approvalCard";
import { batchCard } from "../../src/bot/cards/batchCard";
import { doctorCard } from "../../src/bot/cards/doctorCard";
import { driftCard } from "../../src/bot/cards/driftCard";
import { handoffCard } from "../../src/bot/cards/handoffCard";
import { historyCard } from "../../src/bot/cards/historyCard";
import { parametersCard } from "../../src/bot/cards/parametersCard";
import { progressCard } from "../../src/bot/cards/progressCard";
import { reminderCard } from "../../src/bot/cards/reminderCard";
import type { Card } from "../../src/bot/cards/renderCard";
import { assessRegistrations, statusCard } from "../../src/bot/cards/statusCard";
import type { BatchRecord } from "../../src/domain/batches/batchRecords";
import type { RegistrationRecord, RequestRecord } from "../../src/domain/records";
import { freshPlan, NOW, PARAMS } from "../support/fixtures";

const H = "[Approve-here](https://attacker.example/login) **loud** <at>Everyone</at> _x_";
const HOSTILE_PARAMS = { ...PARAMS, customer: H, appName: H, serviceProviderFqdn: H, displayName: H, umpInstance: H };
const who = { id: "aaaaaaaa-0000-0000-0000-000000000001", name: H };

/** Every string a Teams client renders as Markdown; inputs and actions (data, titles of buttons) are left out. */
function markdownTexts(card: Card): string[] {
  const out: string[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (typeof n.type === "string" && (n.type.startsWith("Input.") || n.type.startsWith("Action."))) return;
    if ((n.type === "TextBlock" || n.type === "TextRun") && typeof n.text === "string") out.push(n.text);
    if (n.type === "FactSet" && Array.isArray(n.facts))
      for (const f of n.facts as Array<{ title: string; value: string }>) out.push(f.title, f.value);
    for (const [k, v] of Object.entries(n)) if (k !== "actions" && k !== "data" && k !== "facts") visit(v);
  };
  visit(card);
  return out;
}

function expectInert(name: string, card: Card) {
  const texts = markdownTexts(card);
  const all = texts.join("\n");
  expect(all, `${name} shows the hostile text somewhere`).toContain("attacker.example");
  for (const t of texts) {
    expect(t, `${name}: a live link`).not.toMatch(/(^|[^\\])\[Approve-here\]\(/);
    expect(t, `${name}: live emphasis`).not.toMatch(/(^|[^\\])\*\*loud/);
    expect(t, `${name}: a live mention`).not.toMatch(/(^|[^\\])<at>/);
    expect(t, `${name}: live underscore emphasis`).not.toMatch(/(^|[^\\])_x_/);
  }
}

function hostileRequest(state: RequestRecord["state"]): RequestRecord {
  return {
    id: "req-1",
    customer: H,
    kind: "provision",
    params: HOSTILE_PARAMS,
    service: "ump",
    state,
    requester: who,
    tenantId: "t",
    conversation: {},
    plan: { ...freshPlan(), notes: [H] },
    createdAt: NOW.toISOString(),
    expiresAt: new Date(NOW.getTime() + 86_400_000).toISOString(),
    approver: { ...who, via: H, at: NOW.toISOString() },
    rejectedBy: { ...who, at: NOW.toISOString() },
    correlationId: "corr-1",
    registeredFqdn: H,
    replaces: {
      requestId: "req-0",
      params: { ...PARAMS, displayName: "before" },
      planHash: "0".repeat(64),
      changes: [H],
    },
    run: {
      id: "run-1",
      startedAt: NOW.toISOString(),
      owner: "p",
      leaseUntil: NOW.toISOString(),
      steps: [{ name: "upsertApplication", status: state === "running" ? "running" : "failed", detail: H }],
      waiting: H,
      error: { step: "upsertApplication", code: "upstream_failed", message: H, hint: H },
      verification: { ok: false, differences: [H], tokenProof: "failed", at: NOW.toISOString() },
    },
  };
}

const registration: RegistrationRecord = {
  customer: H,
  params: HOSTILE_PARAMS,
  objectId: "obj-1",
  appId: "app-1",
  conversation: {},
  secrets: [
    {
      keyId: "key-1",
      service: H,
      runId: "run-1",
      displayName: "syncbot:x:run-1",
      hint: "Abc",
      endDateTime: "2025-04-01T12:00:00.000Z",
      fingerprint: "sha256:0",
      createdAt: NOW.toISOString(),
      status: "active",
    },
  ],
  attention: { step: "writeUmp", reason: H, since: NOW.toISOString(), requestId: "req-1" },
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
};

describe("every card shows hostile text as typed", () => {
  for (const state of ["planned", "running", "failed", "succeeded", "rejected"] as const)
    it(`approval card (${state})`, () => {
      const view = { request: hostileRequest(state), spTenantId: "t", allowSelfApproval: false, notice: H };
      expectInert(`approval ${state}`, approvalCard({ ...view, defaultFqdn: H }));
    });

  it("batch card", () => {
    const requests = new Map<string, RequestRecord>();
    const failed = { ...hostileRequest("failed"), id: "r-failed" };
    const running = { ...hostileRequest("running"), id: "r-running" };
    requests.set(failed.id, failed).set(running.id, running);
    for (const state of ["planned", "approved"] as const) {
      const batch: BatchRecord = {
        id: "b-1",
        state,
        requester: who,
        tenantId: "t",
        conversation: {},
        members: [
          { line: 1, customer: H, error: H, retries: 0 },
          { line: 2, customer: H, params: HOSTILE_PARAMS, requestId: failed.id, retries: 0 },
          { line: 3, customer: H, params: HOSTILE_PARAMS, requestId: running.id, retries: 0 },
        ],
        hash: "h",
        createdAt: NOW.toISOString(),
        expiresAt: NOW.toISOString(),
        approver: { ...who, via: H, at: NOW.toISOString() },
        rejectedBy: { ...who, at: NOW.toISOString() },
        correlationId: "c",
      };
      expectInert(`batch ${state}`, batchCard({ batch, requests, notice: H }));
    }
  });

  it("parameters, drift, progress, hand-off, history, doctor, reminder and status cards", () => {
    expectInert("parameters", parametersCard({ values: HOSTILE_PARAMS, formError: H }));
    expectInert(
      "parameters errors",
      parametersCard({ values: HOSTILE_PARAMS, errors: { customer: H, displayName: H, appName: H } }),
    );
    expectInert("drift", driftCard(H, HOSTILE_PARAMS, [H]));
    expectInert("drift error", driftCard(H, null, [], H));
    expectInert("progress", progressCard({ title: H, text: "Reading…", detail: H }));
    expectInert("hand-off", handoffCard({ title: H, body: H, requestId: "r", showButtons: true, notice: H }));
    const event = {
      id: "e",
      at: NOW.toISOString(),
      customer: H,
      actor: H,
      action: H,
      outcome: "ok" as const,
      correlationId: "c",
      detail: H,
    };
    expectInert("history", historyCard(H, [event], undefined));
    expectInert("doctor", doctorCard([{ check: H, status: "fail", detail: H, todo: H }]));
    const notice = {
      customer: H,
      service: H,
      clientId: "c",
      keyId: "k",
      hint: "Abc",
      endDateTime: NOW.toISOString(),
      daysLeft: 3,
    };
    expectInert("reminder", reminderCard({ ...notice, notice: H }));
    const entries = assessRegistrations([registration], NOW);
    expectInert("status", statusCard({ entries, now: NOW, title: "Registrations", single: true }));
    expectInert("status overview", statusCard({ entries: [...entries, ...entries], now: NOW, title: "Registrations" }));
  });
});
