// createGraphCredential: the one place that turns GRAPH_CREDENTIAL into an @azure/identity
// TokenCredential, so the Graph adapter only ever sees "something that gives tokens" (or null when
// the target is an emulator that needs none).

import {
  AzureAuthorityHosts,
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from "@azure/identity";
import { SyncbotError } from "../domain/errors";

export type GraphCredentialKind = "managed-identity" | "client-secret" | "client-certificate" | "default" | "none";

export interface GraphCredentialOptions {
  tenantId: string;
  authorityHost: string;
  clientId?: string;
  clientSecret?: string;
  certificatePath?: string;
  /**
   * A PEM certificate to trust for AUTHORITY_HOST in this process only. A process gets an extra trusted
   * certificate through NODE_EXTRA_CA_CERTS at start; the offline demo and in-process tests start their
   * Entra stand-in (and make its certificate) after that, so they hand it over here instead.
   */
  authorityCa?: string;
}

// Microsoft's cloud authority hosts: @azure/identity's AzureAuthorityHosts plus the aliases MSAL itself
// knows from its built-in instance discovery metadata (msal-common AuthorityMetadata). For these MSAL
// keeps validating the authority through instance discovery, as it always has.
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  ...Object.values(AzureAuthorityHosts).map((u) => new URL(u).hostname),
  "login.microsoftonline.com",
  "login.windows.net",
  "login.microsoft.com",
  "sts.windows.net",
  "login.partner.microsoftonline.cn",
  "login.chinacloudapi.cn",
  "login.microsoftonline.de",
  "login.microsoftonline.us",
  "login.usgovcloudapi.net",
  "login-us.microsoftonline.com",
  "login.sovcloud-identity.fr",
  "login.sovcloud-identity.de",
  "login.sovcloud-identity.sg",
]);

/**
 * Whether MSAL may skip instance discovery for this AUTHORITY_HOST. Discovery asks Microsoft's public
 * host to vouch for the authority: for any other authority (a sovereign or private Entra stand-in, the
 * tests' loopback one) it cannot succeed and MSAL fails with "endpoints_resolution_error" after a
 * timeout. For Microsoft's own hosts nothing changes.
 */
export function skipsInstanceDiscovery(authorityHost: string): boolean {
  let host: string;
  try {
    host = new URL(authorityHost).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return false;
  }
  return !MICROSOFT_AUTHORITY_HOSTS.has(host);
}

export function createGraphCredential(kind: GraphCredentialKind, opts: GraphCredentialOptions): TokenCredential | null {
  try {
    return build(kind, opts);
  } catch (e) {
    if (e instanceof SyncbotError) throw e;
    // @azure/identity validates eagerly (e.g. it refuses a non-https AUTHORITY_HOST); surface that as
    // configuration, which is what it is. Its messages name settings, never secret values.
    throw new SyncbotError(
      "config_invalid",
      `GRAPH_CREDENTIAL=${kind}: ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: "identity credentials need an https AUTHORITY_HOST (against the emulators: their Entra stand-in, trusted through NODE_EXTRA_CA_CERTS)",
      },
    );
  }
}

function build(kind: GraphCredentialKind, opts: GraphCredentialOptions): TokenCredential | null {
  const missing = (what: string) =>
    new SyncbotError("config_invalid", `GRAPH_CREDENTIAL=${kind} needs ${what}`, {
      hint: "set the missing setting or choose another GRAPH_CREDENTIAL",
    });
  switch (kind) {
    case "none":
      return null;
    case "managed-identity":
      // A user-assigned identity is picked by its client id; without one the system-assigned identity is used.
      return opts.clientId
        ? new ManagedIdentityCredential({ clientId: opts.clientId })
        : new ManagedIdentityCredential();
    case "client-secret":
      if (!opts.clientId) throw missing("a client id");
      if (!opts.clientSecret) throw missing("a client secret");
      return new ClientSecretCredential(opts.tenantId, opts.clientId, opts.clientSecret, authority(opts));
    case "client-certificate":
      if (!opts.clientId) throw missing("a client id");
      if (!opts.certificatePath) throw missing("a certificate path");
      return new ClientCertificateCredential(
        opts.tenantId,
        opts.clientId,
        { certificatePath: opts.certificatePath },
        authority(opts),
      );
    case "default":
      return new DefaultAzureCredential({
        tenantId: opts.tenantId,
        ...authority(opts),
        ...(opts.clientId ? { managedIdentityClientId: opts.clientId } : {}),
      });
  }
}

function authority(opts: GraphCredentialOptions): {
  authorityHost: string;
  disableInstanceDiscovery?: true;
  tlsOptions?: { ca: string };
} {
  return {
    authorityHost: opts.authorityHost,
    ...(skipsInstanceDiscovery(opts.authorityHost) ? { disableInstanceDiscovery: true as const } : {}),
    ...(opts.authorityCa ? { tlsOptions: { ca: opts.authorityCa } } : {}),
  };
}
