// The `check` answer: the differences between the live registration/UMP and the desired spec, with
// Review plan to prepare the fix.

import type { ProvisionParameters } from "../../domain/spec";
import { type Card, renderCard } from "./renderCard";

export function driftCard(
  customer: string,
  params: ProvisionParameters | null,
  differences: string[],
  error?: string,
): Card {
  return renderCard("drift", {
    title: `Check ${customer}`,
    summary: error
      ? error
      : differences.length === 0
        ? "Live registration and UMP settings match the desired spec."
        : `${differences.length} difference(s) from the desired spec. Review plan prepares the fix (approval needed).`,
    summaryColor: error || differences.length ? "Attention" : "Good",
    differences,
    customer,
    appName: params?.appName ?? "",
    serviceProviderFqdn: params?.serviceProviderFqdn ?? "",
    displayName: params?.displayName ?? "",
    umpInstance: params?.umpInstance ?? "",
    secretLifetimeMonths: params?.secretLifetimeMonths ?? 24,
  });
}
