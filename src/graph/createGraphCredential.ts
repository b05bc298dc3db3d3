// createGraphCredential: the one place that turns GRAPH_CREDENTIAL into an @azure/identity
// TokenCredential, so the Graph adapter only ever sees "something that gives tokens" (or null when
// the target is an emulator that needs none).

import {
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
        hint: "identity credentials need an https AUTHORITY_HOST; use GRAPH_CREDENTIAL=none against an emulator",
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
      return new ClientSecretCredential(opts.tenantId, opts.clientId, opts.clientSecret, {
        authorityHost: opts.authorityHost,
      });
    case "client-certificate":
      if (!opts.clientId) throw missing("a client id");
      if (!opts.certificatePath) throw missing("a certificate path");
      return new ClientCertificateCredential(
        opts.tenantId,
        opts.clientId,
        { certificatePath: opts.certificatePath },
        { authorityHost: opts.authorityHost },
      );
    case "default":
      return new DefaultAzureCredential({
        tenantId: opts.tenantId,
        authorityHost: opts.authorityHost,
        ...(opts.clientId ? { managedIdentityClientId: opts.clientId } : {}),
      });
  }
}
