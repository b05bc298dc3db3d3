// The end state every fault, crash and re-run must reach (DOMAIN.md invariants 4, 5 and 8): one
// application per customer, UMP holding a secret that exists in Entra, no other secret on the app,
// and an audit trail that records each step of the run.

import { expect } from "vitest";
import type { Repository } from "../../src/domain/repository";
import type { GraphEmulator } from "../emulators/graphEmulator";
import type { UmpEmulator } from "../emulators/umpEmulator";

const STEPS = ["upsertApplication", "addSecret", "writeUmp", "portalUrl", "verify", "tidy"];

export async function expectConsistent(
  env: { graph: GraphEmulator; ump: UmpEmulator; repo: Repository },
  customer = "contoso",
  opts: { extraAudit?: string[] } = {},
) {
  const apps = env.graph.applications().filter((a) => a.uniqueName === `syncbot-${customer}`);
  expect(apps, "exactly one application for the customer").toHaveLength(1);
  const app = apps[0]!;
  const ump = env.ump.settings(`ump-${customer}`);
  expect(ump.syncApp.clientId).toBe(app.appId);
  expect(ump.syncApp.clientSecret.isSet).toBe(true);
  // No orphan: the only secret on the app is the one UMP holds (sha256 of a secret that exists in Entra).
  expect(app.passwordCredentials.map((p) => p.displayName)).toHaveLength(1);
  const keyId = app.passwordCredentials[0]!.keyId;
  expect(env.graph.secretFingerprint(app.id, keyId)).toBe(ump.syncApp.clientSecret.fingerprint);
  expect(app.passwordCredentials[0]!.displayName).toMatch(/^syncbot:ump:[0-9a-f-]{36}$/);
  expect(ump.customerAuthenticationPortalUrl.validationStatus).toBe("Valid");
  // The record agrees with Entra.
  const reg = await env.repo.getRegistration(customer);
  expect(reg?.appId).toBe(app.appId);
  expect(reg?.secrets.filter((s) => s.status === "active").map((s) => s.keyId)).toEqual([keyId]);
  // The audit trail: who asked, who approved, each step, the secret and the outcome.
  const actions = (await env.repo.listAudit(customer, { limit: 500 })).events.map((e) => e.action);
  for (const a of [
    "provision.requested",
    "approval.approved",
    "secret.added",
    "run.succeeded",
    ...STEPS.map((s) => `step.${s}`),
    ...(opts.extraAudit ?? []),
  ])
    expect(actions, `audit has ${a}`).toContain(a);
  return { app, ump, keyId, actions };
}
