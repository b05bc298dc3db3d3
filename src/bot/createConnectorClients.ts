// Proactive posts reuse one Bot Connector client per service URL for a while, where
// continueConversationAsync builds a client, a user-token client and a turn for every post: a sweep of
// 50,000 registrations posts thousands of reminders, and that garbage grew its peak memory.

import type { TeamsAdapter } from "@microsoft/teams-ai";

/** The headers of a request being signed (what AppCredentials/TokenCredentials.signRequest touch). */
export interface SignableHeaders {
  set(name: string, value: string): void;
  get(name: string): string | undefined;
  contains(name: string): boolean;
  remove(name: string): boolean;
}

/**
 * The part of botframework-connector's ConnectorClient a proactive post uses: the credentials the
 * factory gave it (MicrosoftAppCredentials, certificate, managed identity, or empty when anonymous; each
 * signs a request with a token from its own cache) and its user agent (ServiceClientContext.options).
 */
export interface ConnectorClientLike {
  credentials: {
    signRequest(webResource: { url: string; method: string; headers: SignableHeaders }): Promise<unknown>;
  };
  options?: { userAgent?: unknown };
}

/**
 * What CloudAdapterBase.continueConversationAsync(botAppId, …) itself uses (protected members in the
 * typings, public at runtime): the claims identity it makes for the bot's app id, and the connector
 * factory of the adapter's own BotFrameworkAuthentication (SingleTenant, MultiTenant, UserAssignedMSI
 * and the configured endpoints all live there). Read from botbuilder 4.23 CloudAdapterBase.
 */
interface CloudAdapterInternals {
  botFrameworkAuthentication: {
    createConnectorFactory(claimsIdentity: unknown): {
      create(serviceUrl: string, audience?: string): Promise<ConnectorClientLike>;
    };
  };
  createClaimsIdentity(botAppId?: string): unknown;
}

/**
 * How long a client is reused. Its credentials sign every request with a token from botbuilder's
 * token cache, refreshed before it expires, so a reused client never sends a stale token.
 */
export const CONNECTOR_CLIENT_TTL_MS = 10 * 60_000;
/** Service URLs kept at once (Teams uses one per region; a few is plenty). */
export const CONNECTOR_CLIENT_MAX = 8;

export type ConnectorClients = ReturnType<typeof createConnectorClients>;

export function createConnectorClients(deps: {
  adapter: TeamsAdapter;
  botAppId: string;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}) {
  const inside = deps.adapter as unknown as Partial<CloudAdapterInternals>;
  const auth = inside.botFrameworkAuthentication;
  if (!auth || typeof inside.createClaimsIdentity !== "function")
    throw new Error("the adapter has no BotFrameworkAuthentication (botbuilder CloudAdapter expected)");
  const ttlMs = deps.ttlMs ?? CONNECTOR_CLIENT_TTL_MS;
  const maxEntries = deps.maxEntries ?? CONNECTOR_CLIENT_MAX;
  const now = deps.now ?? Date.now;
  // The same identity continueConversationAsync(botAppId, …) builds (audience and app id claims).
  const factory = auth.createConnectorFactory(inside.createClaimsIdentity.call(deps.adapter, deps.botAppId));
  const clients = new Map<string, { client: Promise<ConnectorClientLike>; at: number }>();

  /** The client for `serviceUrl`; audience undefined as in continueConversationAsync (the configured scope). */
  function get(serviceUrl: string): Promise<ConnectorClientLike> {
    const entry = clients.get(serviceUrl);
    if (entry && now() - entry.at < ttlMs) return entry.client;
    clients.delete(serviceUrl);
    for (const key of clients.keys()) {
      if (clients.size < maxEntries) break;
      clients.delete(key); // the oldest first (insertion order)
    }
    const client = factory.create(serviceUrl, undefined);
    clients.set(serviceUrl, { client, at: now() });
    // A client that could not be made (credentials) is not kept: the next post tries again.
    client.catch(() => {
      if (clients.get(serviceUrl)?.client === client) clients.delete(serviceUrl);
    });
    return client;
  }

  return { get };
}
