// The parameters card: the contract's inputs with the Review plan button, pre-filled and showing each
// field's error next to it.

import type { FieldErrors, ProvisionParameters } from "../../domain/spec";
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
    customerTitle: String(v.customer || "a customer"),
    formError: view.formError ?? (Object.keys(e).length ? "Some values need fixing; nothing was changed." : ""),
    customer: String(v.customer ?? ""),
    appName: String(v.appName ?? ""),
    serviceProviderFqdn: String(v.serviceProviderFqdn ?? ""),
    displayName: String(v.displayName ?? ""),
    umpInstance: String(v.umpInstance ?? ""),
    secretLifetimeMonths: Number.isFinite(Number(v.secretLifetimeMonths)) ? Number(v.secretLifetimeMonths) : 24,
    errors: {
      customer: e.customer ?? "",
      appName: e.appName ?? "",
      serviceProviderFqdn: e.serviceProviderFqdn ?? "",
      displayName: e.displayName ?? "",
      umpInstance: e.umpInstance ?? "",
      secretLifetimeMonths: e.secretLifetimeMonths ?? "",
    },
  });
}
