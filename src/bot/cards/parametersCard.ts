// The parameters card: the contract's inputs with the Review plan button, pre-filled and showing each
// field's error next to it.

import type { FieldErrors, ProvisionParameters } from "../../domain/spec";
import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { type Card, renderCard } from "./renderCard";

export interface ParametersView {
  values: Partial<Record<keyof ProvisionParameters, string | number>>;
  errors?: FieldErrors;
  formError?: string;
}

export function parametersCard(view: ParametersView): Card {
  const v = view.values;
  const e = view.errors ?? {};
  return renderCard("parameters", {
    customerTitle: md(truncate(String(v.customer || "a customer"), 40)),
    formError: view.formError
      ? md(truncate(view.formError, 1000))
      : Object.keys(e).length
        ? "Some values need fixing; nothing was changed."
        : "",
    customer: String(v.customer ?? ""),
    appName: String(v.appName ?? ""),
    serviceProviderFqdn: String(v.serviceProviderFqdn ?? ""),
    displayName: String(v.displayName ?? ""),
    umpInstance: String(v.umpInstance ?? ""),
    secretLifetimeMonths: Number.isFinite(Number(v.secretLifetimeMonths)) ? Number(v.secretLifetimeMonths) : 24,
    errors: {
      customer: md(truncate(e.customer ?? "", 600)),
      appName: md(truncate(e.appName ?? "", 600)),
      serviceProviderFqdn: md(truncate(e.serviceProviderFqdn ?? "", 600)),
      displayName: md(truncate(e.displayName ?? "", 600)),
      umpInstance: md(truncate(e.umpInstance ?? "", 600)),
      secretLifetimeMonths: md(truncate(e.secretLifetimeMonths ?? "", 600)),
    },
  });
}
