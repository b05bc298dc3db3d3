// The desired state of one customer's Sync App registration and UMP settings, derived only from the
// parameters card and configuration, and the server-side validation of those parameters.

import type { RequiredResourceAccess } from "./ports";

export const GRAPH_RESOURCE_APP_ID = "00000003-0000-0000-c000-000000000000";
export const GLOBAL_ADMIN_ROLE_TEMPLATE_ID = "62e90394-69f5-4237-9190-012177145e10";
export const MANAGED_TAG = "syncbot-managed";
export const DEFAULT_SERVICE = "ump";

/** The nine delegated Microsoft Graph permissions the vendor procedure (step 18) requires. */
export const REQUIRED_SCOPES: ReadonlyArray<{ value: string; id: string }> = [
  { value: "AppCatalog.ReadWrite.All", id: "1ca167d5-1655-44a1-8adf-1414072e1ef9" },
  { value: "offline_access", id: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182" },
  { value: "profile", id: "14dad69e-099b-42c9-810b-d002981feec1" },
  { value: "User.Read", id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d" },
  { value: "User.Read.All", id: "a154be20-db9c-4678-8ab7-66f6cc099a59" },
  { value: "Directory.Read.All", id: "06da0dbc-49e2-44d2-8312-53f166ab848a" },
  { value: "Directory.ReadWrite.All", id: "c5366453-9fb0-48a5-a156-24f0c49a4b84" },
  { value: "Group.ReadWrite.All", id: "4e46008b-f24c-477d-8fff-7bb4ec7aafe0" },
  { value: "User.ReadWrite.All", id: "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4" },
];

export interface ProvisionParameters {
  customer: string;
  appName: string;
  serviceProviderFqdn: string;
  displayName: string;
  umpInstance: string;
  secretLifetimeMonths: number;
}

/** The parameters card's input ids (CONTRACT section 4), in card order. */
export const PARAMETER_FIELDS: ReadonlyArray<keyof ProvisionParameters> = [
  "customer",
  "appName",
  "serviceProviderFqdn",
  "displayName",
  "umpInstance",
  "secretLifetimeMonths",
];

export interface Spec extends ProvisionParameters {
  uniqueName: string;
  tags: string[];
  signInAudience: "AzureADMultipleOrgs";
  redirectUrl: string;
  portalUrl: string;
  implicitGrant: { accessTokens: true; idTokens: true };
  isFallbackPublicClient: true;
  requiredResourceAccess: RequiredResourceAccess[];
}

export type FieldErrors = Partial<Record<keyof ProvisionParameters, string>>;

export type ValidationResult = { ok: true; params: ProvisionParameters } | { ok: false; errors: FieldErrors };

const CUSTOMER_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const DNS_LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const UMP_INSTANCE_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;
// Entra refuses redirect URIs with these characters (documented restrictions on redirect URIs).
const ENTRA_FORBIDDEN_URI_CHARS = /[!$'(),;]/;
const MAX_REDIRECT_URI_LENGTH = 256;
const MAX_DISPLAY_NAME = 120;

/** A service that holds its own secret on the registration ("ump", "teams-sync", …). */
export function isServiceName(value: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/.test(value);
}

export function isCustomerSlug(value: string): boolean {
  return CUSTOMER_RE.test(value);
}

/** A DNS name of at least two labels, each a valid label, 253 characters at most, no trailing dot. */
export function isFqdn(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split(".");
  if (labels.length < 2) return false;
  if (!labels.every((l) => DNS_LABEL_RE.test(l))) return false;
  // A top-level label that is all digits would make this an IP address, not a name.
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

export function redirectUrlFor(appName: string, fqdn: string): string {
  return `https://${appName}.${fqdn}/authenticate/OAuth2Callback`;
}
export function portalUrlFor(appName: string, fqdn: string): string {
  return `https://${appName}.${fqdn}/authenticate`;
}
export function uniqueNameFor(customer: string): string {
  return `syncbot-${customer}`;
}
export function customerTag(customer: string): string {
  return `syncbot-customer:${customer}`;
}

function hasControlChars(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  return /[\u0000-\u001f\u007f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(s);
}

/**
 * Validates raw card input. Unknown keys are ignored; every value is re-checked here because a card
 * payload can be forged. Strings are trimmed; FQDN and app name are lower-cased (DNS is case-insensitive
 * and Entra compares redirect URIs case-sensitively, so one canonical form avoids drift).
 */
export function validateParameters(raw: Record<string, unknown>): ValidationResult {
  const errors: FieldErrors = {};
  const str = (k: keyof ProvisionParameters, max: number): string => {
    const v = raw[k];
    if (typeof v !== "string" && typeof v !== "number") return "";
    const s = String(v);
    if (s.length > max * 4) return s.slice(0, max + 1); // oversized: keep enough to fail the length check
    return s.trim();
  };

  const customer = str("customer", 40).toLowerCase();
  if (!customer) errors.customer = "Enter the customer's short name.";
  else if (!isCustomerSlug(customer))
    errors.customer =
      "Use 1-40 lower-case letters, digits or hyphens, starting and ending with a letter or digit (e.g. contoso).";

  const appName = str("appName", 63).toLowerCase();
  if (!appName) errors.appName = "Enter the app name (the first label of the portal host name).";
  else if (!DNS_LABEL_RE.test(appName))
    errors.appName =
      "Must be a DNS label: 1-63 lower-case letters, digits or hyphens, not starting or ending with a hyphen.";

  const fqdn = str("serviceProviderFqdn", 253).toLowerCase().replace(/\.$/, "");
  if (!fqdn) errors.serviceProviderFqdn = "Enter the service provider's domain (e.g. ump.example.com).";
  else if (!isFqdn(fqdn))
    errors.serviceProviderFqdn =
      "Must be a fully qualified domain name such as ump.example.com: letters, digits and hyphens in dot-separated labels, no scheme, path or port.";

  const displayName = str("displayName", MAX_DISPLAY_NAME);
  if (!displayName) errors.displayName = "Enter the display name of the app registration.";
  else if (displayName.length > MAX_DISPLAY_NAME) errors.displayName = `At most ${MAX_DISPLAY_NAME} characters.`;
  else if (hasControlChars(displayName) || /[<>]/.test(displayName))
    errors.displayName = "Must not contain control characters or angle brackets.";

  const umpInstance = str("umpInstance", 64);
  if (!umpInstance) errors.umpInstance = "Enter the UMP instance id.";
  else if (!UMP_INSTANCE_RE.test(umpInstance))
    errors.umpInstance = "Use up to 64 letters, digits, dots, hyphens or underscores.";

  const lifetimeRaw = raw.secretLifetimeMonths;
  // Only strings and numbers are values; anything else a forged payload sends is simply invalid.
  const lifetimeText =
    lifetimeRaw === undefined || lifetimeRaw === ""
      ? "24"
      : typeof lifetimeRaw === "string" || typeof lifetimeRaw === "number"
        ? String(lifetimeRaw).trim()
        : "invalid";
  const lifetime = /^[0-9]{1,2}$/.test(lifetimeText) ? Number(lifetimeText) : Number.NaN;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 24)
    errors.secretLifetimeMonths = "A whole number of months from 1 to 24.";

  if (!errors.appName && !errors.serviceProviderFqdn) {
    const redirect = redirectUrlFor(appName, fqdn);
    if (redirect.length > MAX_REDIRECT_URI_LENGTH)
      errors.serviceProviderFqdn = `The redirect URL would be ${redirect.length} characters; Entra accepts at most ${MAX_REDIRECT_URI_LENGTH}.`;
    else if (ENTRA_FORBIDDEN_URI_CHARS.test(redirect))
      errors.serviceProviderFqdn = "The redirect URL would contain characters Entra refuses (! $ ' ( ) , ;).";
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    params: {
      customer,
      appName,
      serviceProviderFqdn: fqdn,
      displayName,
      umpInstance,
      secretLifetimeMonths: lifetime,
    },
  };
}

export function buildSpec(params: ProvisionParameters): Spec {
  return {
    ...params,
    uniqueName: uniqueNameFor(params.customer),
    tags: [MANAGED_TAG, customerTag(params.customer)],
    signInAudience: "AzureADMultipleOrgs",
    redirectUrl: redirectUrlFor(params.appName, params.serviceProviderFqdn),
    portalUrl: portalUrlFor(params.appName, params.serviceProviderFqdn),
    implicitGrant: { accessTokens: true, idTokens: true },
    isFallbackPublicClient: true,
    requiredResourceAccess: [
      {
        resourceAppId: GRAPH_RESOURCE_APP_ID,
        resourceAccess: REQUIRED_SCOPES.map((s) => ({ id: s.id, type: "Scope" as const })),
      },
    ],
  };
}

/** Adds `months` calendar months, clamping to the month's last day (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(from: Date, months: number): Date {
  const d = new Date(from.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

export function adminConsentUrl(tenantId: string, clientId: string): string {
  return `https://login.microsoftonline.com/${encodeURIComponent(tenantId)}/adminconsent?client_id=${encodeURIComponent(clientId)}`;
}
