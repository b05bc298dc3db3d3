// validateParameters is the only gate between a (forgeable) card payload and Entra/UMP: table tests for
// each field, and properties for the redirect URL Entra will be given.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addMonths,
  adminConsentUrl,
  buildSpec,
  GRAPH_RESOURCE_APP_ID,
  type ProvisionParameters,
  validateParameters,
} from "../../src/domain/spec";

const VALID = {
  customer: "contoso",
  appName: "umptoken",
  serviceProviderFqdn: "ump.example.com",
  displayName: "Contoso UMP Sync",
  umpInstance: "ump-01",
  secretLifetimeMonths: "24",
};

function ok(raw: Record<string, unknown>): ProvisionParameters {
  const r = validateParameters(raw);
  if (!r.ok) throw new Error(`expected valid, got ${JSON.stringify(r.errors)}`);
  return r.params;
}

function errorsOf(raw: Record<string, unknown>): Record<string, string | undefined> {
  const r = validateParameters(raw);
  if (r.ok) throw new Error(`expected invalid, got ${JSON.stringify(r.params)}`);
  return r.errors;
}

describe("validateParameters: valid input", () => {
  it("accepts the canonical example", () => {
    expect(ok(VALID)).toEqual({
      customer: "contoso",
      appName: "umptoken",
      serviceProviderFqdn: "ump.example.com",
      displayName: "Contoso UMP Sync",
      umpInstance: "ump-01",
      secretLifetimeMonths: 24,
    });
  });

  it.each([
    [
      "upper-case app name, FQDN and customer",
      { customer: "Contoso", appName: "UMPToken", serviceProviderFqdn: "UMP.Example.COM" },
    ],
    ["a trailing dot on the FQDN", { serviceProviderFqdn: "ump.example.com." }],
    ["surrounding whitespace", { appName: "  umptoken ", serviceProviderFqdn: " ump.example.com\t" }],
    ["upper case and trailing dot together", { serviceProviderFqdn: "UMP.EXAMPLE.COM." }],
  ])("normalises %s", (_name, patch) => {
    const p = ok({ ...VALID, ...patch });
    expect(p.customer).toBe("contoso");
    expect(p.appName).toBe("umptoken");
    expect(p.serviceProviderFqdn).toBe("ump.example.com");
  });

  it.each([
    ["customer", "a"],
    ["customer", "a".repeat(40)],
    ["customer", "contoso-eu-1"],
    ["appName", "a"],
    ["appName", "a".repeat(63)],
    ["appName", "ump-token-2"],
    ["appName", "0ump"],
    ["serviceProviderFqdn", "a.b"],
    ["serviceProviderFqdn", "xn--bcher-kva.example"],
    ["serviceProviderFqdn", `${"a".repeat(63)}.example.com`],
    ["displayName", "x".repeat(120)],
    ["displayName", "Contoso (EU) – UMP & Sync"],
    ["umpInstance", "ump_01.eu-west"],
    ["umpInstance", "U"],
    ["umpInstance", "a".repeat(64)],
  ])("accepts %s = %j", (field, value) => {
    ok({ ...VALID, [field]: value });
  });

  it.each([
    ["1", 1],
    ["24", 24],
    ["12", 12],
    [" 6 ", 6],
    [12, 12],
    [undefined, 24],
    ["", 24],
  ])("secretLifetimeMonths %j → %d", (input, months) => {
    expect(ok({ ...VALID, secretLifetimeMonths: input }).secretLifetimeMonths).toBe(months);
  });

  it("ignores unknown keys", () => {
    expect(ok({ ...VALID, form: "parameters", requestId: "x" }).customer).toBe("contoso");
  });
});

describe("validateParameters: invalid input, one field at a time", () => {
  const longLabel = "a".repeat(64);
  const tooLong = `${("a".repeat(63) + ".").repeat(4)}com`; // 259 characters
  const cases: Array<[keyof ProvisionParameters, unknown, string]> = [
    // customer slug
    ["customer", "", "empty"],
    ["customer", "-contoso", "leading hyphen"],
    ["customer", "contoso-", "trailing hyphen"],
    ["customer", "con toso", "space"],
    ["customer", "con_toso", "underscore"],
    ["customer", "contoso.eu", "dot"],
    ["customer", "a".repeat(41), "41 characters"],
    ["customer", undefined, "missing"],
    ["customer", { toString: () => "contoso" }, "an object"],
    // appName: a DNS label
    ["appName", "ump_token", "underscore"],
    ["appName", "-ump", "leading hyphen"],
    ["appName", "ump-", "trailing hyphen"],
    ["appName", longLabel, "64 characters"],
    ["appName", "ump.token", "dot"],
    ["appName", "", "empty"],
    ["appName", "   ", "only spaces"],
    ["appName", "ümp", "unicode"],
    // FQDN
    ["serviceProviderFqdn", "https://ump.example.com", "scheme"],
    ["serviceProviderFqdn", "ump.example.com/path", "path"],
    ["serviceProviderFqdn", "ump.example.com:443", "port"],
    ["serviceProviderFqdn", "localhost", "single label"],
    ["serviceProviderFqdn", "192.168.1.10", "IPv4 address"],
    ["serviceProviderFqdn", "[::1]", "IPv6 address"],
    ["serviceProviderFqdn", `${longLabel}.example.com`, "label over 63"],
    ["serviceProviderFqdn", tooLong, "total over 253"],
    ["serviceProviderFqdn", "ump..example.com", "empty label"],
    ["serviceProviderFqdn", ".example.com", "leading dot"],
    ["serviceProviderFqdn", "ump.example.com..", "two trailing dots"],
    ["serviceProviderFqdn", "ümp.example.com", "unicode"],
    ["serviceProviderFqdn", "ump.exa mple.com", "space"],
    ["serviceProviderFqdn", "ump.-example.com", "label with leading hyphen"],
    ["serviceProviderFqdn", "user@ump.example.com", "userinfo"],
    ["serviceProviderFqdn", "", "empty"],
    // displayName
    ["displayName", "x".repeat(5000), "5000 characters"],
    ["displayName", "x".repeat(121), "121 characters"],
    ["displayName", "Contoso\u0000Sync", "NUL"],
    ["displayName", "Contoso\u0007Sync", "BEL"],
    ["displayName", "Contoso\nSync", "newline inside"],
    ["displayName", "Contoso\u007fSync", "DEL"],
    ["displayName", "Contoso \u202Ecnys", "RTL override U+202E"],
    ["displayName", "Contoso \u2066Sync", "bidi isolate U+2066"],
    ["displayName", "<b>Contoso</b>", "angle brackets"],
    ["displayName", "Contoso > UMP", "a closing angle bracket"],
    ["displayName", "", "empty"],
    // umpInstance
    ["umpInstance", "", "empty"],
    ["umpInstance", "ump 01", "space"],
    ["umpInstance", "ump/01", "slash"],
    ["umpInstance", "-ump", "leading hyphen"],
    ["umpInstance", "ump.", "trailing dot"],
    ["umpInstance", "a".repeat(65), "65 characters"],
    ["umpInstance", "../etc", "path traversal"],
    // secretLifetimeMonths
    ["secretLifetimeMonths", 0, "0"],
    ["secretLifetimeMonths", 25, "25"],
    ["secretLifetimeMonths", "abc", "abc"],
    ["secretLifetimeMonths", 1.5, "1.5"],
    ["secretLifetimeMonths", "1.5", "'1.5'"],
    ["secretLifetimeMonths", -1, "-1"],
    ["secretLifetimeMonths", "1e1", "exponent"],
    ["secretLifetimeMonths", "0x10", "hex"],
    ["secretLifetimeMonths", "100", "100"],
    ["secretLifetimeMonths", null, "null"],
  ];

  it.each(cases)("%s = %j (%s) is refused on that field only", (field, value) => {
    const errors = errorsOf({ ...VALID, [field]: value });
    expect(Object.keys(errors)).toEqual([field]);
    expect(errors[field]).toMatch(/\S/);
  });

  it("reports every bad field at once", () => {
    const errors = errorsOf({
      customer: "-",
      appName: "_",
      serviceProviderFqdn: "x",
      displayName: "",
      umpInstance: " ",
      secretLifetimeMonths: 0,
    });
    expect(Object.keys(errors).sort()).toEqual(
      ["appName", "customer", "displayName", "secretLifetimeMonths", "serviceProviderFqdn", "umpInstance"].sort(),
    );
  });

  it("refuses a redirect URL longer than 256 characters on serviceProviderFqdn", () => {
    // 8 + 63 + 1 + 195 + 28 = 295 characters, though app name and FQDN are each valid.
    const fqdn = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.com`;
    const errors = errorsOf({ ...VALID, appName: "u".repeat(63), serviceProviderFqdn: fqdn });
    expect(Object.keys(errors)).toEqual(["serviceProviderFqdn"]);
    expect(errors.serviceProviderFqdn).toMatch(/256/);
  });

  it("accepts a redirect URL of exactly 256 characters", () => {
    // 8 + 63 + 1 + 156 + 28 = 256.
    const fqdn = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(28)}`;
    const p = ok({ ...VALID, appName: "u".repeat(63), serviceProviderFqdn: fqdn });
    expect(buildSpec(p).redirectUrl).toHaveLength(256);
    expect(errorsOf({ ...VALID, appName: "u".repeat(63), serviceProviderFqdn: `${fqdn}c` })).toHaveProperty(
      "serviceProviderFqdn",
    );
  });
});

// ---------------------------------------------------------------------------------------------

const FIELDS = ["customer", "appName", "serviceProviderFqdn", "displayName", "umpInstance", "secretLifetimeMonths"];
const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/);
const nearlyValid = fc.record({
  customer: fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,42}$/), fc.string()),
  appName: fc.oneof(label, fc.string()),
  serviceProviderFqdn: fc.oneof(
    fc.array(label, { minLength: 1, maxLength: 6 }).map((ls) => ls.join(".")),
    fc.domain(),
    fc.webUrl(),
    fc.string(),
  ),
  displayName: fc.oneof(fc.string({ maxLength: 130 }), fc.string({ unit: "grapheme", maxLength: 40 })),
  umpInstance: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,66}$/), fc.string()),
  secretLifetimeMonths: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.string(), fc.double(), fc.constant(undefined)),
});

describe("validateParameters: properties", () => {
  it("never throws, whatever the values", () => {
    const anyValue = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.anything());
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...FIELDS, "other"), anyValue), (raw) => {
        const r = validateParameters(raw);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on nearly valid input, and a valid result yields an acceptable redirect URL", () => {
    let valid = 0;
    fc.assert(
      fc.property(nearlyValid, (raw) => {
        const r = validateParameters(raw);
        if (!r.ok) {
          expect(Object.keys(r.errors).length).toBeGreaterThan(0);
          return;
        }
        valid++;
        const spec = buildSpec(r.params);
        const url = spec.redirectUrl;
        expect(url.startsWith("https://")).toBe(true);
        expect(url.length).toBeLessThanOrEqual(256);
        expect(url).not.toMatch(/[!$'(),;]/);
        expect(url).toBe(`https://${r.params.appName}.${r.params.serviceProviderFqdn}/authenticate/OAuth2Callback`);
        expect(new URL(url).hostname).toBe(`${r.params.appName}.${r.params.serviceProviderFqdn}`);
        expect(new URL(url).protocol).toBe("https:");
        expect(spec.portalUrl).toBe(`https://${r.params.appName}.${r.params.serviceProviderFqdn}/authenticate`);
        expect(r.params.secretLifetimeMonths).toBeGreaterThanOrEqual(1);
        expect(r.params.secretLifetimeMonths).toBeLessThanOrEqual(24);
        expect(Number.isInteger(r.params.secretLifetimeMonths)).toBe(true);
      }),
      { numRuns: 1000 },
    );
    expect(valid).toBeGreaterThan(0);
  });

  it("validation is idempotent: a valid result validates to itself", () => {
    fc.assert(
      fc.property(nearlyValid, (raw) => {
        const r = validateParameters(raw);
        if (!r.ok) return;
        const again = validateParameters({ ...r.params });
        expect(again).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("buildSpec", () => {
  const CONTRACT_SCOPES = [
    "1ca167d5-1655-44a1-8adf-1414072e1ef9",
    "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "14dad69e-099b-42c9-810b-d002981feec1",
    "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "a154be20-db9c-4678-8ab7-66f6cc099a59",
    "06da0dbc-49e2-44d2-8312-53f166ab848a",
    "c5366453-9fb0-48a5-a156-24f0c49a4b84",
    "4e46008b-f24c-477d-8fff-7bb4ec7aafe0",
    "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4",
  ];
  const spec = buildSpec(ok(VALID));

  it("asks for exactly the nine delegated Graph scopes of the contract", () => {
    expect(GRAPH_RESOURCE_APP_ID).toBe("00000003-0000-0000-c000-000000000000");
    expect(spec.requiredResourceAccess).toHaveLength(1);
    const graph = spec.requiredResourceAccess[0]!;
    expect(graph.resourceAppId).toBe("00000003-0000-0000-c000-000000000000");
    expect(graph.resourceAccess).toHaveLength(9);
    expect(graph.resourceAccess.map((a) => a.id).sort()).toEqual([...CONTRACT_SCOPES].sort());
    expect(graph.resourceAccess.every((a) => a.type === "Scope")).toBe(true);
  });

  it("derives the managed fields from the parameters", () => {
    expect(spec).toMatchObject({
      uniqueName: "syncbot-contoso",
      signInAudience: "AzureADMultipleOrgs",
      redirectUrl: "https://umptoken.ump.example.com/authenticate/OAuth2Callback",
      portalUrl: "https://umptoken.ump.example.com/authenticate",
      implicitGrant: { accessTokens: true, idTokens: true },
      isFallbackPublicClient: true,
      displayName: "Contoso UMP Sync",
      umpInstance: "ump-01",
      secretLifetimeMonths: 24,
    });
    expect(spec.tags).toContain("syncbot-managed");
    expect(spec.tags).toContain("syncbot-customer:contoso");
  });
});

describe("addMonths", () => {
  it.each([
    ["2023-01-31T10:20:30.000Z", 1, "2023-02-28T10:20:30.000Z"],
    ["2024-01-31T10:20:30.000Z", 1, "2024-02-29T10:20:30.000Z"],
    ["2024-02-29T00:00:00.000Z", 12, "2025-02-28T00:00:00.000Z"],
    ["2024-02-29T00:00:00.000Z", 48, "2028-02-29T00:00:00.000Z"],
    ["2023-03-31T00:00:00.000Z", 1, "2023-04-30T00:00:00.000Z"],
    ["2023-08-31T23:59:59.999Z", 1, "2023-09-30T23:59:59.999Z"],
    ["2023-11-30T00:00:00.000Z", 3, "2024-02-29T00:00:00.000Z"],
    ["2023-12-15T08:00:00.000Z", 1, "2024-01-15T08:00:00.000Z"],
    ["2023-12-31T00:00:00.000Z", 24, "2025-12-31T00:00:00.000Z"],
    ["2100-01-31T00:00:00.000Z", 1, "2100-02-28T00:00:00.000Z"],
    ["2000-01-31T00:00:00.000Z", 1, "2000-02-29T00:00:00.000Z"],
    ["2024-05-15T00:00:00.000Z", 0, "2024-05-15T00:00:00.000Z"],
  ])("%s + %d months = %s", (from, months, expected) => {
    const start = new Date(from);
    expect(addMonths(start, months).toISOString()).toBe(expected);
    expect(start.toISOString()).toBe(from); // the input is not mutated
  });
});

describe("adminConsentUrl", () => {
  it("points at the tenant's admin consent endpoint for the client id", () => {
    expect(adminConsentUrl("11111111-2222-3333-4444-555555555555", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")).toBe(
      "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/adminconsent?client_id=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    );
  });

  it("encodes both parts", () => {
    const url = new URL(adminConsentUrl("a/b?c", "x&y=z"));
    expect(url.pathname).toBe("/a%2Fb%3Fc/adminconsent");
    expect(url.searchParams.get("client_id")).toBe("x&y=z");
    expect([...url.searchParams.keys()]).toEqual(["client_id"]);
  });
});
