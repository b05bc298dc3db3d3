// Review plan against records and fake live state: what it refuses before anything is planned.

import { describe, expect, it } from "vitest";
import type { FullDirectory, UmpSettingsApi } from "../../src/domain/ports";
import type { RegistrationRecord } from "../../src/domain/records";
import { createRepository } from "../../src/domain/repository";
import { createAuditTrail } from "../../src/domain/requests/createAuditTrail";
import { createRequestLifecycle } from "../../src/domain/requests/createRequestLifecycle";
import { REQUIRED_SCOPES } from "../../src/domain/spec";
import { NOW, PARAMS } from "../support/fixtures";
import { memoryStore } from "../support/memoryStore";

function setup() {
  const repo = createRepository(memoryStore());
  const clock = { now: () => NOW };
  const directory = {
    getGraphDelegatedScopes: async () => new Map(REQUIRED_SCOPES.map((s) => [s.value, s.id])),
    getApplicationByUniqueName: async () => null,
    getAppManagementPolicies: async () => ({ checked: false, reason: "forbidden" }),
  } as unknown as FullDirectory;
  const ump = {
    getSettings: async (instance: string) => ({
      etag: "1",
      settings: {
        umpInstanceId: instance,
        revision: 1,
        syncApp: {
          clientId: null,
          redirectUri: null,
          clientSecret: { isSet: false, hint: null, fingerprint: null, version: 0, expiresAt: null },
        },
        customerAuthenticationPortalUrl: { value: null, validationStatus: "NotSet" },
      },
    }),
  } as unknown as UmpSettingsApi;
  const lifecycle = createRequestLifecycle({
    directory,
    ump,
    repo,
    clock,
    options: {
      tenantId: "t",
      umpTarget: "api",
      approvalTtlHours: 24,
      graceHours: 0,
      leaseMs: 60_000,
      replication: { budgetMs: 0, firstDelayMs: 0, maxDelayMs: 0 },
      operationPollMs: 0,
      operationPollAttempts: 1,
      policy: "allow-list",
      approverIds: [],
      allowSelfApproval: false,
    },
    audit: createAuditTrail(repo, clock),
    notify: () => undefined,
    canHandOff: false,
    resumeIfStale: () => undefined,
  });
  const review = (params = PARAMS) =>
    lifecycle.review({
      params,
      kind: "provision",
      requester: { id: "u1", name: "Requester" },
      tenantId: "t",
      conversation: {},
    });
  return { repo, review };
}

const contosoRegistration = (): RegistrationRecord => ({
  customer: "contoso",
  params: PARAMS,
  objectId: "obj-1",
  appId: "app-1",
  conversation: {},
  secrets: [],
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
});

describe("review plan", () => {
  it("plans a fresh customer", async () => {
    const { review } = setup();
    expect((await review()).kind).toBe("planned");
  });

  it("refuses a UMP instance another customer's registration uses, naming that customer", async () => {
    const { repo, review } = setup();
    await repo.saveRegistration("contoso", () => contosoRegistration());
    const outcome = await review({ ...PARAMS, customer: "fabrikam", appName: "fabrikamtoken" });
    expect(outcome).toEqual({
      kind: "invalid",
      errors: {
        umpInstance: `UMP instance "ump-01" is already used by customer contoso's registration; nothing was changed.`,
      },
    });
    expect(await repo.listRequests()).toEqual([]);
  });

  it("lets the same customer review again on its own instance, and another customer use another instance", async () => {
    const { repo, review } = setup();
    await repo.saveRegistration("contoso", () => contosoRegistration());
    expect((await review()).kind).not.toBe("invalid");
    expect((await review({ ...PARAMS, customer: "fabrikam", appName: "fab", umpInstance: "ump-02" })).kind).toBe(
      "planned",
    );
  });
});
