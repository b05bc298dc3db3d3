// The run engine on its own: fake steps over an in-memory store, no Graph, no UMP. A run resumes at the
// right step after a crash, compensates completed steps when one fails, stops when it lost its lease,
// and two engines racing for one run produce one winner.

import { describe, expect, it } from "vitest";
import { SyncbotError } from "../../src/domain/errors";
import { memoryStore } from "../support/memoryStore";
import type { Logger } from "../../src/domain/ports";
import type { DocumentStore } from "../../src/domain/documentStore";
import type { RequestRecord, RunRecord, StepName } from "../../src/domain/records";
import { createRepository, type Repository } from "../../src/domain/repository";
import { createAuditTrail } from "../../src/domain/requests/createAuditTrail";
import { createRunEngine, LeaseLost } from "../../src/domain/runs/createRunEngine";
import type { RunContext, Step, StepOutcome, StepStages } from "../../src/domain/runs/step";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

function approvedRequest(id = "req-1"): RequestRecord {
  const at = new Date("2030-01-01T00:00:00Z").toISOString();
  return {
    id,
    customer: "contoso",
    kind: "provision",
    params: {} as RequestRecord["params"],
    service: "ump",
    state: "approved",
    requester: { id: "u1", name: "Requester" },
    tenantId: "t",
    conversation: {},
    plan: { kind: "provision", customer: "contoso", service: "ump", targets: {} as never, changes: [], hash: "h" },
    createdAt: at,
    expiresAt: at,
    approver: { id: "u2", name: "Approver", via: "allow-list", at },
    correlationId: "corr",
  };
}

/** What every fake step did, in order, across all engines of a test. */
type Journal = string[];

function fakeStep(name: StepName, journal: Journal, behaviour: Partial<Step> = {}): Step {
  return {
    name,
    title: name,
    async run(ctx: RunContext): Promise<StepOutcome> {
      journal.push(`${name}:run${ctx.interrupted ? ":interrupted" : ""}`);
      await ctx.fence();
      journal.push(`${name}:write`);
      return { status: "done", detail: `${name} done` };
    },
    async compensate(_ctx, failed) {
      journal.push(`${name}:compensate(${failed})`);
    },
    ...behaviour,
  };
}

/** A running request whose process died with its lease: `steps` as that process last stored them. */
async function storeRunOfDeadProcess(repo: Repository, steps: RunRecord["steps"]) {
  const r = approvedRequest();
  await repo.createRequest({
    ...r,
    state: "running",
    run: {
      id: "run-1",
      startedAt: r.createdAt,
      owner: "dead",
      leaseUntil: new Date(Date.parse(r.createdAt) + 1000).toISOString(),
      steps,
    },
  });
}

function setup(steps: StepStages<Step>, options: { leaseMs?: number } = {}) {
  const repo = createRepository(memoryStore());
  let t = Date.parse("2030-01-01T00:00:00Z");
  const clock = { now: () => new Date(t) };
  const engine = (instanceId: string, list: StepStages<Step> = steps, r: Repository = repo) =>
    createRunEngine({
      repo: r,
      clock,
      logger: quiet,
      audit: createAuditTrail(r, clock),
      notify: () => undefined,
      instanceId,
      leaseMs: options.leaseMs ?? 60_000,
      stepsFor: () => list,
      contextFor: (base) => base,
    });
  return { repo, engine, advance: (ms: number) => (t += ms) };
}

/** The audit actions, sorted (the fake clock stands still, so events share one timestamp). */
async function auditActions(repo: Repository) {
  return (await repo.listAudit("contoso", { limit: 100 })).events.map((e) => e.action).sort();
}

describe("run engine", () => {
  it("runs every step in order, records each outcome and finishes", async () => {
    const journal: Journal = [];
    const { repo, engine } = setup(
      ["upsertApplication", "addSecret", "tidy"].map((n) => fakeStep(n as StepName, journal)),
    );
    await repo.createRequest(approvedRequest());
    const done = await engine("A").execute("req-1");
    expect(done.state).toBe("succeeded");
    expect(done.run!.steps.map((s) => `${s.name}=${s.status}:${s.detail}`)).toEqual([
      "upsertApplication=done:upsertApplication done",
      "addSecret=done:addSecret done",
      "tidy=done:tidy done",
    ]);
    expect(journal.filter((j) => j.endsWith(":write"))).toEqual([
      "upsertApplication:write",
      "addSecret:write",
      "tidy:write",
    ]);
    expect(await auditActions(repo)).toEqual(
      ["run.started", "step.upsertApplication", "step.addSecret", "step.tidy", "run.succeeded"].sort(),
    );
    expect(await repo.store.get("locks", "contoso")).toBeNull();
  });

  it("after a crash between steps, another engine resumes at the interrupted step; the dead one writes nothing more", async () => {
    const journal: Journal = [];
    let release!: () => void;
    const hang = new Promise<void>((r) => {
      release = r;
    });
    // Engine A dies inside addSecret: its step never returns (and no heartbeat fires within a 60 s lease).
    const stuck = fakeStep("addSecret", journal, {
      async run(ctx) {
        journal.push("addSecret:run(A)");
        await hang;
        await ctx.fence();
        journal.push("addSecret:write(A)");
        return { status: "done" };
      },
    });
    const { repo, engine, advance } = setup([]);
    const listB = [fakeStep("upsertApplication", journal), fakeStep("addSecret", journal), fakeStep("tidy", journal)];
    const a = engine("A", [fakeStep("upsertApplication", journal), stuck, fakeStep("tidy", journal)]);
    await repo.createRequest(approvedRequest());
    const runA = a.execute("req-1");
    await until(async () => journal.includes("addSecret:run(A)"));
    const mid = (await repo.getRequest("req-1"))!;
    expect(mid.run!.steps.map((s) => s.status)).toEqual(["done", "running", "pending"]);

    // The lease is still held: nobody resumes yet.
    const b = engine("B", listB);
    expect(await b.resumeStale()).toEqual([]);
    advance(61_000);
    expect(await b.resumeStale()).toEqual(["req-1"]);
    const finished = await until(async () => {
      const r = await repo.getRequest("req-1");
      return r?.state === "succeeded" ? r : null;
    });
    expect(finished.run!.owner).toBe("B");
    // B did not redo the finished step, and ran the interrupted one under the resume rules.
    expect(journal.filter((j) => !j.includes("(A)"))).toEqual([
      "upsertApplication:run",
      "upsertApplication:write",
      "addSecret:run:interrupted",
      "addSecret:write",
      "tidy:run",
      "tidy:write",
    ]);
    expect(await auditActions(repo)).toContain("run.resumed");

    // The dead engine wakes up: it lost the lease, so it stops before its write and changes nothing.
    release();
    const last = await runA;
    expect(journal).not.toContain("addSecret:write(A)");
    expect(last.state).toBe("succeeded");
    expect((await repo.getRequest("req-1"))!.run!.owner).toBe("B");
    expect((await auditActions(repo)).filter((a) => a === "run.succeeded" || a === "run.failed")).toEqual([
      "run.succeeded",
    ]);
  });

  it("resumes after a crash that left the next step pending, without rerunning finished steps", async () => {
    const journal: Journal = [];
    const { repo, engine, advance } = setup([
      fakeStep("upsertApplication", journal),
      fakeStep("addSecret", journal),
      fakeStep("tidy", journal),
    ]);
    await storeRunOfDeadProcess(repo, [
      { name: "upsertApplication", status: "done" },
      { name: "addSecret", status: "pending" },
      { name: "tidy", status: "pending" },
    ]);
    advance(2000);
    const done = await engine("B").execute("req-1");
    expect(done.state).toBe("succeeded");
    expect(journal).toEqual(["addSecret:run", "addSecret:write", "tidy:run", "tidy:write"]);
  });

  it("a run stored before a step existed resumes: the missing record is pending, inserted in list order, and runs", async () => {
    const journal: Journal = [];
    const { repo, engine, advance } = setup([
      fakeStep("upsertApplication", journal),
      fakeStep("servicePrincipal", journal),
      fakeStep("addSecret", journal),
      fakeStep("tidy", journal),
    ]);
    // As an earlier syncbot stored it: no servicePrincipal step; killed during addSecret.
    await storeRunOfDeadProcess(repo, [
      { name: "upsertApplication", status: "done", detail: "created app" },
      { name: "addSecret", status: "running" },
      { name: "tidy", status: "pending" },
    ]);
    advance(2000);
    const done = await engine("B").execute("req-1");
    expect(done.state).toBe("succeeded");
    expect(journal).toEqual([
      "servicePrincipal:run",
      "servicePrincipal:write",
      "addSecret:run:interrupted",
      "addSecret:write",
      "tidy:run",
      "tidy:write",
    ]);
    const stored = (await repo.getRequest("req-1"))!.run!.steps;
    expect(stored.map((s) => `${s.name}=${s.status}:${s.detail ?? ""}`)).toEqual([
      "upsertApplication=done:created app",
      "servicePrincipal=done:servicePrincipal done",
      "addSecret=done:addSecret done",
      "tidy=done:tidy done",
    ]);
    expect(await auditActions(repo)).toContain("step.servicePrincipal");
  });

  it("a step that throws: completed steps compensate in reverse, the run fails with the step's reason", async () => {
    const journal: Journal = [];
    const failing = fakeStep("writeUmp", journal, {
      async run() {
        journal.push("writeUmp:run");
        throw new SyncbotError("upstream_failed", "UMP answered 503", { hint: "try later" });
      },
    });
    const steps = [
      fakeStep("upsertApplication", journal),
      fakeStep("addSecret", journal),
      failing,
      fakeStep("verify", journal),
    ];
    const { repo, engine } = setup(steps);
    await repo.createRequest(approvedRequest());
    const done = await engine("A").execute("req-1");
    expect(done.state).toBe("failed");
    expect(done.run!.error).toEqual({
      step: "writeUmp",
      code: "upstream_failed",
      message: "UMP answered 503",
      hint: "try later",
    });
    expect(done.run!.steps.map((s) => s.status)).toEqual(["done", "done", "failed", "pending"]);
    expect(journal.filter((j) => j.includes("compensate"))).toEqual([
      "writeUmp:compensate(writeUmp)",
      "addSecret:compensate(writeUmp)",
      "upsertApplication:compensate(writeUmp)",
    ]);
    expect(journal).not.toContain("verify:run");
    expect(await auditActions(repo)).toContain("run.failed");
    expect(await auditActions(repo)).not.toContain("run.succeeded");
    expect(await repo.store.get("locks", "contoso")).toBeNull();
  });

  it("a run that lost its lease stops before its next upstream write", async () => {
    const journal: Journal = [];
    const { repo, engine } = setup([]);
    const thief = fakeStep("addSecret", journal, {
      async run(ctx) {
        // Another process takes the run over while this step works.
        await repo.updateRequest("req-1", (r) => ({ ...r, run: { ...r.run!, owner: "other" } }));
        journal.push("addSecret:run");
        await ctx.fence();
        journal.push("addSecret:write");
        return { status: "done" };
      },
    });
    const list = [fakeStep("upsertApplication", journal), thief, fakeStep("tidy", journal)];
    await repo.createRequest(approvedRequest());
    const r = await engine("A", list).execute("req-1");
    expect(journal).toEqual(["upsertApplication:run", "upsertApplication:write", "addSecret:run"]);
    expect(r.state).toBe("running");
    expect(r.run!.owner).toBe("other");
    expect(r.run!.steps.map((s) => s.status)).toEqual(["done", "running", "pending"]);
    expect(await auditActions(repo)).not.toContain("run.failed");
  });

  it("a run whose lease was taken between steps runs no further step", async () => {
    const journal: Journal = [];
    const { repo, engine } = setup([]);
    const first = fakeStep("upsertApplication", journal, {
      async run(ctx) {
        await ctx.fence();
        journal.push("upsertApplication:write");
        await repo.updateRequest("req-1", (r) => ({ ...r, run: { ...r.run!, owner: "other" } }));
        return { status: "done" };
      },
    });
    await repo.createRequest(approvedRequest());
    const r = await engine("A", [first, fakeStep("tidy", journal)]).execute("req-1");
    expect(journal).toEqual(["upsertApplication:write"]);
    expect(r.state).toBe("running");
    // The outcome of the step was not recorded by the loser either.
    expect(r.run!.steps[0]!.status).toBe("running");
  });

  it("fence() throws LeaseLost once the run is owned by another engine", async () => {
    const { repo, engine } = setup([]);
    let caught: unknown;
    const probe = fakeStep("upsertApplication", [], {
      async run(ctx) {
        await repo.updateRequest("req-1", (r) => ({ ...r, run: { ...r.run!, owner: "other" } }));
        try {
          await ctx.fence();
        } catch (e) {
          caught = e;
          throw e;
        }
        return { status: "done" };
      },
    });
    await repo.createRequest(approvedRequest());
    await engine("A", [probe]).execute("req-1");
    expect(caught).toBeInstanceOf(LeaseLost);
  });

  it("two engines racing for one run: one claims it, every step runs once", async () => {
    const journal: Journal = [];
    const steps = [fakeStep("upsertApplication", journal), fakeStep("addSecret", journal), fakeStep("tidy", journal)];
    const { repo, engine } = setup(steps);
    await repo.createRequest(approvedRequest());
    const [a, b] = await Promise.all([engine("A").execute("req-1"), engine("B").execute("req-1")]);
    const final = (await repo.getRequest("req-1"))!;
    expect(final.state).toBe("succeeded");
    expect(journal.filter((j) => j.endsWith(":write"))).toEqual([
      "upsertApplication:write",
      "addSecret:write",
      "tidy:write",
    ]);
    expect([a.state, b.state]).toContain("succeeded");
    expect((await auditActions(repo)).filter((x) => x === "run.started")).toHaveLength(1);
  });
});

async function until<T>(probe: () => Promise<T | null | false | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("run engine: the audit trail never lags the request", () => {
  it("run.succeeded and run.failed are in the audit trail before the request shows the final state", async () => {
    for (const fail of [false, true]) {
      const inner = memoryStore();
      const seenAtFinalWrite: string[][] = [];
      const store: DocumentStore = {
        ...inner,
        async replace(c, k, v, ver) {
          const state = (v as { state?: string }).state;
          if (c === "requests" && (state === "succeeded" || state === "failed"))
            seenAtFinalWrite.push(
              (await inner.list<{ action: string }>("audit"))
                .map((d) => d.value.action)
                .filter((a) => a.startsWith("run.")),
            );
          return inner.replace(c, k, v, ver);
        },
      };
      const repo = createRepository(store);
      const clock = { now: () => new Date("2030-01-01T00:00:00Z") };
      const step = fakeStep(
        "upsertApplication",
        [],
        fail ? { run: async () => Promise.reject(new Error("boom")) } : {},
      );
      const engine = createRunEngine({
        repo,
        clock,
        logger: quiet,
        audit: createAuditTrail(repo, clock),
        notify: () => undefined,
        instanceId: "A",
        leaseMs: 60_000,
        stepsFor: () => [step],
        contextFor: (base) => base,
      });
      await repo.createRequest(approvedRequest());
      const done = await engine.execute("req-1");
      expect(done.state).toBe(fail ? "failed" : "succeeded");
      expect(seenAtFinalWrite).toHaveLength(1);
      expect(seenAtFinalWrite[0]).toContain(fail ? "run.failed" : "run.succeeded");
    }
  });
});

describe("run engine: the per-customer lock", () => {
  function realClockEngine(repo: Repository, instanceId: string, steps: Step[], leaseMs: number) {
    const clock = { now: () => new Date() };
    return createRunEngine({
      repo,
      clock,
      logger: quiet,
      audit: createAuditTrail(repo, clock),
      notify: () => undefined,
      instanceId,
      leaseMs,
      stepsFor: () => steps,
      contextFor: (base) => base,
    });
  }

  it("is renewed with the heartbeat: a run stalled longer than the lease keeps a second run for the customer out", async () => {
    const repo = createRepository(memoryStore());
    const journal: Journal = [];
    let release!: () => void;
    const stall = new Promise<void>((r) => {
      release = r;
    });
    const slow = fakeStep("upsertApplication", journal, {
      async run(ctx) {
        await stall; // e.g. Graph throttling for two minutes
        await ctx.fence();
        journal.push("A:write");
        return { status: "done" };
      },
    });
    await repo.createRequest(approvedRequest("req-1"));
    await repo.createRequest(approvedRequest("req-2"));
    const runA = realClockEngine(repo, "A", [slow], 300).execute("req-1");
    await new Promise((r) => setTimeout(r, 900)); // three leases long
    const b = await realClockEngine(repo, "B", [fakeStep("upsertApplication", journal)], 300).execute("req-2");
    expect(b.state).toBe("failed");
    expect(b.run!.error?.message).toMatch(/Another run for contoso is in progress/);
    release();
    expect((await runA).state).toBe("succeeded");
    expect(journal).toEqual(["A:write"]);
  });

  it("a run whose customer lock another run took stops before its next write", async () => {
    const journal: Journal = [];
    const { repo, engine } = setup([]);
    const step = fakeStep("upsertApplication", journal, {
      async run(ctx) {
        await repo.store.upsert("locks", "contoso", {
          customer: "contoso",
          requestId: "req-other",
          owner: "B",
          until: "2999-01-01T00:00:00Z",
        });
        await ctx.fence();
        journal.push("A:write");
        return { status: "done" };
      },
    });
    await repo.createRequest(approvedRequest());
    const r = await engine("A", [step, fakeStep("tidy", journal)]).execute("req-1");
    expect(journal).toEqual([]);
    expect(r.state).toBe("running");
    expect((await repo.getLock("contoso"))?.requestId).toBe("req-other");
  });
});

describe("a write whose outcome nobody could settle (invariant 9)", () => {
  it("parks the run in attention without compensating; settle re-runs the step as interrupted and finishes", async () => {
    const journal: Journal = [];
    let umpReadable = false;
    const writeUmp = fakeStep("writeUmp", journal, {
      async run(ctx) {
        journal.push(`writeUmp:run${ctx.interrupted ? ":interrupted" : ""}`);
        if (!umpReadable) throw new SyncbotError("outcome_unknown", "UMP answered 502 and could not be read back");
        return { status: "done", detail: "read back: UMP holds the new secret" };
      },
    });
    const steps = [fakeStep("addSecret", journal), writeUmp, fakeStep("verify", journal)];
    const { repo, engine } = setup(steps);
    await repo.createRequest(approvedRequest());
    const parked = await engine("A").execute("req-1");
    expect(parked.state).toBe("attention");
    expect(parked.run!.attention).toMatchObject({
      step: "writeUmp",
      reason: "UMP answered 502 and could not be read back",
    });
    expect(parked.run!.steps.map((s) => s.status)).toEqual(["done", "running", "pending"]);
    expect(journal.filter((j) => j.includes("compensate"))).toEqual([]);
    expect(await repo.store.get("locks", "contoso")).toBeNull();

    // The pass for a dead process's expired leases leaves a parked run alone (only check, the sweep or a
    // restart settle it); the start-up pass takes it.
    umpReadable = true;
    expect(await engine("A").resumeStale({ parked: false })).toEqual([]);
    expect((await repo.getRequest("req-1"))!.state).toBe("attention");
    umpReadable = false;
    // Still unreadable: stays in attention. Readable again: the step re-runs (interrupted) and the run ends.
    expect((await engine("B").settle("contoso"))[0]!.state).toBe("attention");
    umpReadable = true;
    const [settled] = await engine("B").settle("contoso");
    expect(settled!.state).toBe("succeeded");
    expect(journal).toContain("writeUmp:run:interrupted");
    expect(journal.filter((j) => j === "addSecret:write")).toHaveLength(1);
    expect(await auditActions(repo)).toEqual(expect.arrayContaining(["run.attention", "run.settled", "run.succeeded"]));
  });

  it("a compensation that cannot read UMP parks the run instead of failing it", async () => {
    const journal: Journal = [];
    const addSecret = fakeStep("addSecret", journal, {
      async compensate() {
        journal.push("addSecret:kept");
        throw new SyncbotError("outcome_unknown", "UMP could not be read back, so the new secret is kept.");
      },
    });
    const failing = fakeStep("writeUmp", journal, {
      async run() {
        throw new SyncbotError("upstream_failed", "UMP does not hold the new values");
      },
    });
    const { repo, engine } = setup([addSecret, failing]);
    await repo.createRequest(approvedRequest());
    const done = await engine("A").execute("req-1");
    expect(done.state).toBe("attention");
    expect(done.run!.attention!.reason).toMatch(/new secret is kept/);
    expect(journal).toContain("addSecret:kept");
    expect(await auditActions(repo)).not.toContain("run.failed");
  });
});

describe("a stage of steps side by side", () => {
  /** A step that waits at a gate the test opens, so the test sees who is running at once. */
  function gated(name: StepName, journal: Journal, fail = false) {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const step = fakeStep(name, journal, {
      async run(ctx) {
        journal.push(`${name}:run${ctx.interrupted ? ":interrupted" : ""}`);
        await gate;
        if (fail) throw new SyncbotError("upstream_rejected", `${name} refused`);
        await ctx.fence();
        journal.push(`${name}:write`);
        return { status: "done", detail: `${name} done` };
      },
    });
    return { step, open };
  }

  it("starts both before either ends, records each, and the next stage waits for both", async () => {
    const journal: Journal = [];
    const sp = gated("servicePrincipal", journal);
    const secret = gated("addSecret", journal);
    const { repo, engine } = setup([
      fakeStep("upsertApplication", journal),
      [sp.step, secret.step],
      fakeStep("tidy", journal),
    ]);
    await repo.createRequest(approvedRequest());
    const run = engine("A").execute("req-1");
    await until(async () => journal.includes("servicePrincipal:run") && journal.includes("addSecret:run"));
    const mid = (await repo.getRequest("req-1"))!;
    expect(mid.run!.steps.map((s) => `${s.name}=${s.status}`)).toEqual([
      "upsertApplication=done",
      "servicePrincipal=running",
      "addSecret=running",
      "tidy=pending",
    ]);
    secret.open();
    await until(async () => (await repo.getRequest("req-1"))!.run!.steps[2]!.status === "done");
    expect(journal).not.toContain("tidy:run");
    sp.open();
    const done = await run;
    expect(done.state).toBe("succeeded");
    expect(journal.indexOf("tidy:run")).toBeGreaterThan(journal.indexOf("servicePrincipal:write"));
  });

  it("a failure in one lets its neighbour finish, then compensates every completed step and fails the run", async () => {
    const journal: Journal = [];
    const sp = gated("servicePrincipal", journal, true);
    const secret = gated("addSecret", journal);
    const { repo, engine } = setup([
      fakeStep("upsertApplication", journal),
      [sp.step, secret.step],
      fakeStep("tidy", journal),
    ]);
    await repo.createRequest(approvedRequest());
    const run = engine("A").execute("req-1");
    await until(async () => journal.includes("servicePrincipal:run") && journal.includes("addSecret:run"));
    sp.open();
    secret.open();
    const done = await run;
    expect(done.state).toBe("failed");
    expect(done.run!.error).toMatchObject({ step: "servicePrincipal", message: "servicePrincipal refused" });
    expect(done.run!.steps.map((s) => `${s.name}=${s.status}`)).toEqual([
      "upsertApplication=done",
      "servicePrincipal=failed",
      "addSecret=done",
      "tidy=pending",
    ]);
    expect(journal.filter((j) => j.includes("compensate"))).toEqual([
      "addSecret:compensate(servicePrincipal)",
      "servicePrincipal:compensate(servicePrincipal)",
      "upsertApplication:compensate(servicePrincipal)",
    ]);
    expect(journal).not.toContain("tidy:run");
  });

  it("after a crash inside the stage, another engine resumes each interrupted step under its own rules", async () => {
    const journal: Journal = [];
    const { repo, engine, advance } = setup([
      fakeStep("upsertApplication", journal),
      [fakeStep("servicePrincipal", journal), fakeStep("addSecret", journal)],
      fakeStep("tidy", journal),
    ]);
    await storeRunOfDeadProcess(repo, [
      { name: "upsertApplication", status: "done" },
      { name: "servicePrincipal", status: "running" },
      { name: "addSecret", status: "done" },
      { name: "tidy", status: "pending" },
    ]);
    advance(2000);
    const done = await engine("B").execute("req-1");
    expect(done.state).toBe("succeeded");
    expect(journal).toEqual(["servicePrincipal:run:interrupted", "servicePrincipal:write", "tidy:run", "tidy:write"]);
  });
});
