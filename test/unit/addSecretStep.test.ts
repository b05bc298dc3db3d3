// The add-secret step through the run engine, against a fake directory and an in-memory store: a store
// failure right after addPassword leaves a recognisable intent, and the failed run removes the secret.

import { describe, expect, it } from "vitest";
import type { Directory, Logger, PasswordCredentialInfo } from "../../src/domain/ports";
import type { DocumentStore } from "../../src/domain/documentStore";
import type { RequestRecord } from "../../src/domain/records";
import { createRepository } from "../../src/domain/repository";
import { createAuditTrail } from "../../src/domain/requests/createAuditTrail";
import { createRunEngine } from "../../src/domain/runs/createRunEngine";
import { createHeldSecrets } from "../../src/domain/runs/heldSecrets";
import type { Step } from "../../src/domain/runs/step";
import { buildSpec } from "../../src/domain/spec";
import { addSecret } from "../../src/domain/steps/addSecret";
import type { StepContext, StepServices } from "../../src/domain/steps/stepContext";
import { freshPlan, NOW, PARAMS } from "../support/fixtures";
import { memoryStore } from "../support/memoryStore";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const SECRET_TEXT = "s3cr3t-value-that-must-never-be-stored";

function fakeDirectory() {
  const passwords: PasswordCredentialInfo[] = [];
  let n = 0;
  const directory = {
    async addPassword(_objectId: string, credential: { displayName: string; endDateTime: string }) {
      const keyId = `key-${++n}`;
      passwords.push({
        keyId,
        displayName: credential.displayName,
        hint: "s3c",
        startDateTime: null,
        endDateTime: credential.endDateTime,
      });
      return {
        keyId,
        displayName: credential.displayName,
        hint: "s3c",
        endDateTime: credential.endDateTime,
        secretText: SECRET_TEXT,
      };
    },
    async getApplication(objectId: string) {
      return { id: objectId, appId: "app-1", passwordCredentials: structuredClone(passwords) };
    },
    async removePassword(_objectId: string, keyId: string) {
      const i = passwords.findIndex((p) => p.keyId === keyId);
      if (i >= 0) passwords.splice(i, 1);
    },
  } as unknown as Directory;
  return { directory, passwords };
}

describe("add secret step", () => {
  it("a store failure right after addPassword: the intent names the secret and the failed run removes it", async () => {
    const inner = memoryStore();
    let failNextRegistrationWrite = true;
    const store: DocumentStore = {
      ...inner,
      async insert(c, k, v) {
        if (c === "registrations" && failNextRegistrationWrite) {
          failNextRegistrationWrite = false;
          throw new Error("store unavailable");
        }
        return inner.insert(c, k, v);
      },
    };
    const repo = createRepository(store);
    const clock = { now: () => NOW };
    const { directory, passwords } = fakeDirectory();
    const audit = createAuditTrail(repo, clock);
    const held = createHeldSecrets();
    const services = {
      directory,
      repo,
      clock,
      logger: quiet,
      audit,
      held,
      reads: () => ({}),
      options: { umpTarget: "api" },
    } as unknown as StepServices;
    const app: Step<StepContext> = {
      name: "upsertApplication",
      title: "app",
      run: async () => ({ status: "done", patch: { objectId: "obj-1", appId: "app-1" } }),
    };
    const engine = createRunEngine<StepContext>({
      repo,
      clock,
      logger: quiet,
      audit,
      notify: () => undefined,
      instanceId: "A",
      leaseMs: 60_000,
      stepsFor: () => [app, addSecret],
      contextFor: (base) => ({ ...base, spec: buildSpec(PARAMS), services }),
    });
    const request: RequestRecord = {
      id: "req-1",
      customer: "contoso",
      kind: "provision",
      params: PARAMS,
      service: "ump",
      state: "approved",
      requester: { id: "u1", name: "Requester" },
      tenantId: "t",
      conversation: {},
      plan: freshPlan(),
      createdAt: NOW.toISOString(),
      expiresAt: NOW.toISOString(),
      correlationId: "corr",
    };
    await repo.createRequest(request);

    const done = await engine.execute("req-1");

    expect(done.state).toBe("failed");
    expect(done.run!.error?.step).toBe("addSecret");
    expect(done.run!.secretIntent?.displayName).toBe(`syncbot:ump:${done.run!.id}`);
    // The secret Entra created is gone again, nothing records it, and no value stayed in memory.
    expect(passwords).toEqual([]);
    expect((await repo.getRegistration("contoso"))?.secrets ?? []).toEqual([]);
    expect(held.size()).toBe(0);
    const events = (await repo.listAudit("contoso", { limit: 50 })).events;
    expect(events.map((e) => e.action)).toContain("secret.removed");
    const everything = JSON.stringify([await repo.listRequests(), await repo.listRegistrations(), events]);
    expect(everything).not.toContain(SECRET_TEXT);
  });
});
