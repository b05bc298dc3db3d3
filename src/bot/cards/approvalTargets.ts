// What an approver must read before pressing Approve (issue 20): every value Entra and UMP will get, in
// full and in wrapping text (a FactSet clips long values), the service-provider FQDN flagged when it is
// not the configured default or not the customer's current one, and, after a requester's re-plan on the
// same card, what changed since the plan that was shown there. Every value is Markdown-escaped.

import type { RequestRecord } from "../../domain/records";
import { type ProvisionParameters, portalUrlFor, redirectUrlFor } from "../../domain/spec";
import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";

const LABELS: Record<keyof ProvisionParameters, string> = {
  customer: "Customer",
  appName: "App name",
  serviceProviderFqdn: "Service-provider FQDN",
  displayName: "Display name",
  umpInstance: "UMP instance",
  secretLifetimeMonths: "Secret lifetime (months)",
};

/** One wrapping line per value the run writes. */
export function targetLines(r: RequestRecord): string[] {
  const p = r.params;
  return [
    `**Display name:** ${md(p.displayName)}`,
    `**Redirect URL:** ${md(redirectUrlFor(p.appName, p.serviceProviderFqdn))}`,
    `**Authentication Portal URL:** ${md(portalUrlFor(p.appName, p.serviceProviderFqdn))}`,
    `**Service-provider FQDN:** ${md(p.serviceProviderFqdn)}`,
    `**App name:** ${md(p.appName)} · **UMP instance:** ${md(p.umpInstance)}`,
    `**Requested by:** ${md(r.requester.name)}`,
  ];
}

/** Warnings about the FQDN the redirect URL points to (a look-alike host phishes every consent). */
export function fqdnWarnings(r: RequestRecord, defaultFqdn: string | undefined): string[] {
  const fqdn = r.params.serviceProviderFqdn.toLowerCase();
  const out: string[] = [];
  if (defaultFqdn && fqdn !== defaultFqdn.toLowerCase())
    out.push(
      `Check the host: the service-provider FQDN ${md(fqdn)} differs from the default (DEFAULT_SP_FQDN ${md(defaultFqdn)}).`,
    );
  if (r.registeredFqdn && fqdn !== r.registeredFqdn.toLowerCase())
    out.push(
      `Check the host: the service-provider FQDN ${md(fqdn)} differs from ${md(r.customer)}'s current registration (${md(r.registeredFqdn)}).`,
    );
  return out;
}

/** After a requester's re-plan: each value and the plan as they were on the card, and as they are now. */
export function replanLines(r: RequestRecord): string[] {
  const before = r.replaces;
  if (!before) return [];
  const lines: string[] = [];
  for (const k of Object.keys(LABELS) as Array<keyof ProvisionParameters>)
    if (String(before.params[k]) !== String(r.params[k]))
      lines.push(
        `${LABELS[k]}: ${md(truncate(String(before.params[k]), 300))} → ${md(truncate(String(r.params[k]), 300))}`,
      );
  const was = redirectUrlFor(before.params.appName, before.params.serviceProviderFqdn);
  const now = redirectUrlFor(r.params.appName, r.params.serviceProviderFqdn);
  if (was !== now) lines.push(`Redirect URL: ${md(was)} → ${md(now)}`);
  if (before.planHash !== r.plan.hash)
    lines.push(
      `Plan ${before.planHash.slice(0, 12)} (${before.changes.length} change(s)) → ${r.plan.hash.slice(0, 12)} (${r.plan.changes.length} change(s))`,
    );
  if (lines.length === 0) lines.push("Nothing: the same values and the same plan.");
  return lines;
}
