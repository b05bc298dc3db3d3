// The `check` answer: the differences between the live registration/UMP and the desired spec, with
// Review plan to prepare the fix. Differences quote live values anyone may have edited: escaped, bounded.

import type { ProvisionParameters } from "../../domain/spec";
import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { type Card, renderCard } from "./renderCard";

const MAX_DIFFERENCES = 40;

export function driftCard(
  customer: string,
  params: ProvisionParameters | null,
  differences: string[],
  error?: string,
): Card {
  const shown = differences.slice(0, MAX_DIFFERENCES).map((d) => md(truncate(d, 300)));
  if (differences.length > MAX_DIFFERENCES) shown.push(`…and ${differences.length - MAX_DIFFERENCES} more`);
  return renderCard("drift", {
    title: `Check ${md(customer)}`,
    summary: error
      ? md(truncate(error, 1000))
      : differences.length === 0
        ? "Live registration and UMP settings match the desired spec."
        : `${differences.length} difference(s) from the desired spec. Review plan prepares the fix (approval needed).`,
    summaryColor: error || differences.length ? "Attention" : "Good",
    differences: shown,
    customer,
    appName: params?.appName ?? "",
    serviceProviderFqdn: params?.serviceProviderFqdn ?? "",
    displayName: params?.displayName ?? "",
    umpInstance: params?.umpInstance ?? "",
    secretLifetimeMonths: params?.secretLifetimeMonths ?? 24,
  });
}
