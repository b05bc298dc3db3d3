// Hand-built domain values shared by the unit tests: one customer's parameters, a fixed instant, and
// the plan a fresh customer gets.

import { planProvisioning } from "../../src/domain/plan";
import type { ConversationRef, RegistrationRecord } from "../../src/domain/records";
import type { SecretRecord } from "../../src/domain/secretRecord";
import { buildSpec, type ProvisionParameters } from "../../src/domain/spec";

export const NOW = new Date("2025-03-01T12:00:00.000Z");

export const PARAMS: ProvisionParameters = {
  customer: "contoso",
  appName: "umptoken",
  serviceProviderFqdn: "ump.example.com",
  displayName: "Contoso UMP Sync",
  umpInstance: "ump-01",
  secretLifetimeMonths: 24,
};

/** The plan for a customer with no registration and no UMP read. */
export function freshPlan() {
  return planProvisioning(
    buildSpec(PARAMS),
    { app: null, ump: null, recorded: [] },
    { kind: "provision", umpApi: true, now: NOW },
  );
}

/** The parameters every fleet seed uses: app name = customer, ump.example.net, ump-<customer>. */
export function seededParams(customer: string): ProvisionParameters {
  return {
    customer,
    appName: customer,
    serviceProviderFqdn: "ump.example.net",
    displayName: `UMP-365 Delegated Token Sync - ${customer}`,
    umpInstance: `ump-${customer}`,
    secretLifetimeMonths: 24,
  };
}

/**
 * A registration as syncbot stores it after provisioning `customer` with those parameters, for tests
 * that seed the store directly instead of chatting once per customer.
 */
export function seededRegistration(
  customer: string,
  parts: { objectId: string; appId: string; secrets: SecretRecord[]; at: string; conversation?: ConversationRef },
): RegistrationRecord {
  return {
    customer,
    params: seededParams(customer),
    objectId: parts.objectId,
    appId: parts.appId,
    conversation: parts.conversation ?? {},
    secrets: parts.secrets,
    createdAt: parts.at,
    updatedAt: parts.at,
  };
}
