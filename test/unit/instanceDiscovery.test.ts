// MSAL's instance discovery asks Microsoft's public host to vouch for the authority. syncbot turns it
// off only for an AUTHORITY_HOST that is not one of Microsoft's cloud authority hosts (an Entra
// stand-in, a private authority): for Microsoft's hosts MSAL behaves exactly as before.

import { AzureAuthorityHosts } from "@azure/identity";
import { describe, expect, it } from "vitest";
import { skipsInstanceDiscovery } from "../../src/graph/createGraphCredential";

describe("instance discovery decision", () => {
  it("keeps discovery for every authority host @azure/identity knows", () => {
    for (const host of Object.values(AzureAuthorityHosts)) expect(skipsInstanceDiscovery(host)).toBe(false);
  });

  it.each([
    "https://login.microsoftonline.com",
    "https://login.microsoftonline.com/",
    "https://LOGIN.MICROSOFTONLINE.COM",
    "https://login.microsoftonline.com.",
    "https://login.windows.net",
    "https://login.microsoft.com",
    "https://sts.windows.net",
    "https://login.microsoftonline.us",
    "https://login.usgovcloudapi.net",
    "https://login-us.microsoftonline.com",
    "https://login.chinacloudapi.cn",
    "https://login.partner.microsoftonline.cn",
    "https://login.microsoftonline.de",
    "https://login.sovcloud-identity.fr",
  ])("keeps discovery for Microsoft's %s", (host) => {
    expect(skipsInstanceDiscovery(host)).toBe(false);
  });

  it.each([
    "https://127.0.0.1:44321",
    "https://localhost:8443",
    "https://[::1]:8443",
    "https://login.contoso.example",
    // Look-alikes are not Microsoft's: a suffix or prefix does not make a host one of them.
    "https://login.microsoftonline.com.evil.example",
    "https://evil-login.microsoftonline.com.example",
  ])("skips discovery for %s", (host) => {
    expect(skipsInstanceDiscovery(host)).toBe(true);
  });

  it("keeps discovery when the value is not a URL (config validation reports it)", () => {
    expect(skipsInstanceDiscovery("not a url")).toBe(false);
  });
});
