// Who may approve: the I/O-free prechecks on the stored request, and live eligibility per policy.

import { describe, expect, it, vi } from "vitest";
import { type ApproverRules, checkEligibility, precheckApproval } from "../../src/domain/approval";
import type { Actor, RequestRecord, RequestState } from "../../src/domain/records";
import { freshPlan, NOW, PARAMS } from "../support/fixtures";

const params = PARAMS;
const plan = freshPlan();

const alice: Actor = { id: "aaaaaaaa-0000-0000-0000-000000000001", name: "Alice" };
const bob: Actor = { id: "bbbbbbbb-0000-0000-0000-000000000002", name: "Bob" };

function request(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: "req-1",
    customer: "contoso",
    kind: "provision",
    params,
    service: "ump",
    state: "planned",
    requester: alice,
    tenantId: "11111111-2222-3333-4444-555555555555",
    conversation: {},
    plan,
    createdAt: "2025-03-01T11:00:00.000Z",
    expiresAt: "2025-03-02T11:00:00.000Z",
    correlationId: "corr-1",
    ...overrides,
  };
}

const rules = (over: Partial<ApproverRules> = {}): ApproverRules => ({
  policy: "global-admin",
  approverIds: [],
  allowSelfApproval: false,
  ...over,
});

describe("precheckApproval", () => {
  it("lets another person approve a planned, unexpired request with the matching hash", () => {
    expect(precheckApproval(request(), bob, rules(), NOW, plan.hash)).toEqual({ ok: true });
  });

  it("refuses a card without a plan hash (stale or forged)", () => {
    expect(precheckApproval(request(), bob, rules(), NOW, undefined)).toMatchObject({
      ok: false,
      code: "plan_changed",
    });
  });

  it.each<RequestState>(["approved", "running", "succeeded", "failed", "rejected", "expired"])(
    "refuses a request that is %s with conflict",
    (state) => {
      const d = precheckApproval(request({ state }), bob, rules(), NOW, plan.hash);
      expect(d).toMatchObject({ ok: false, code: "conflict" });
      if (!d.ok) expect(d.reason).toContain(state);
    },
  );

  it("refuses an expired request, at and after the expiry instant", () => {
    const at = new Date("2025-03-02T11:00:00.000Z");
    expect(precheckApproval(request(), bob, rules(), at, plan.hash)).toMatchObject({ ok: false, code: "expired" });
    const later = new Date(at.getTime() + 1);
    expect(precheckApproval(request(), bob, rules(), later, plan.hash)).toMatchObject({ ok: false, code: "expired" });
    const before = new Date(at.getTime() - 1);
    expect(precheckApproval(request(), bob, rules(), before, plan.hash)).toEqual({ ok: true });
  });

  it("refuses a card whose plan hash differs from the stored one", () => {
    expect(precheckApproval(request(), bob, rules(), NOW, "0".repeat(64))).toMatchObject({
      ok: false,
      code: "plan_changed",
    });
    expect(precheckApproval(request(), bob, rules(), NOW, "")).toMatchObject({ ok: false, code: "plan_changed" });
  });

  it("refuses self-approval unless allowed, comparing ids case-insensitively", () => {
    const self = { ...alice, id: alice.id.toUpperCase() };
    const d = precheckApproval(request(), self, rules(), NOW, plan.hash);
    expect(d).toMatchObject({ ok: false, code: "not_authorized" });
    expect(precheckApproval(request(), self, rules({ allowSelfApproval: true }), NOW, plan.hash)).toEqual({ ok: true });
  });

  it("reports state before expiry before hash before self-approval", () => {
    const late = new Date("2025-03-03T00:00:00.000Z");
    expect(precheckApproval(request({ state: "rejected" }), alice, rules(), late, "x")).toMatchObject({
      code: "conflict",
    });
    expect(precheckApproval(request(), alice, rules(), late, "x")).toMatchObject({ code: "expired" });
    expect(precheckApproval(request(), alice, rules(), NOW, "x")).toMatchObject({ code: "plan_changed" });
  });
});

describe("checkEligibility", () => {
  const listed = { approverIds: [bob.id.toLowerCase()] };

  it("global-admin: a Global Administrator is eligible", async () => {
    const isGa = vi.fn(async () => true);
    expect(await checkEligibility(bob, rules(), isGa)).toMatchObject({
      eligible: true,
      via: expect.stringMatching(/Global Administrator/),
    });
    expect(isGa).toHaveBeenCalledWith(bob.id);
  });

  it("global-admin: being on the allow-list is not enough", async () => {
    const isGa = vi.fn(async () => false);
    const e = await checkEligibility(bob, rules(listed), isGa);
    expect(e).toMatchObject({ eligible: false });
    if (!e.eligible) expect(e.reason).toMatch(/Global Administrator/);
  });

  it("allow-list: a listed user is eligible and the role is never looked up", async () => {
    const isGa = vi.fn(async () => true);
    expect(
      await checkEligibility({ ...bob, id: bob.id.toUpperCase() }, rules({ policy: "allow-list", ...listed }), isGa),
    ).toEqual({
      eligible: true,
      via: "allow-list",
    });
    expect(isGa).not.toHaveBeenCalled();
  });

  it("allow-list: a Global Administrator who is not listed is refused, without a role lookup", async () => {
    const isGa = vi.fn(async () => true);
    const e = await checkEligibility(alice, rules({ policy: "allow-list", ...listed }), isGa);
    expect(e).toMatchObject({ eligible: false, reason: expect.stringMatching(/APPROVER_IDS/) });
    expect(isGa).not.toHaveBeenCalled();
  });

  it("either: a listed user is eligible without a role lookup", async () => {
    const isGa = vi.fn(async () => false);
    expect(await checkEligibility(bob, rules({ policy: "either", ...listed }), isGa)).toEqual({
      eligible: true,
      via: "allow-list",
    });
    expect(isGa).not.toHaveBeenCalled();
  });

  it("either: an unlisted Global Administrator is eligible", async () => {
    const isGa = vi.fn(async () => true);
    expect(await checkEligibility(alice, rules({ policy: "either", ...listed }), isGa)).toMatchObject({
      eligible: true,
    });
    expect(isGa).toHaveBeenCalledWith(alice.id);
  });

  it("either: neither listed nor Global Administrator is refused", async () => {
    const e = await checkEligibility(alice, rules({ policy: "either", ...listed }), async () => false);
    expect(e).toMatchObject({ eligible: false });
    if (!e.eligible) expect(e.reason).toContain("Alice");
  });

  it("a membership query Graph refused (400) is a refusal that says what to do, never eligible", async () => {
    const e = await checkEligibility(alice, rules(), async () => "query_refused" as const);
    expect(e).toMatchObject({ eligible: false });
    if (!e.eligible) {
      expect(e.reason).toMatch(
        /could not be verified: .*Graph refused the query for roles held through a group \(400\)/,
      );
      expect(e.reason).toMatch(/Nothing was changed\. Assign the role directly, or list approvers in APPROVER_IDS/);
    }
  });

  it("propagates a failing role lookup instead of treating it as eligible", async () => {
    await expect(
      checkEligibility(alice, rules(), async () => {
        throw new Error("graph down");
      }),
    ).rejects.toThrow("graph down");
  });
});
