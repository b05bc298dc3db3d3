// The port the hand-off step sends a new secret through (src/ump/createHandoff.ts implements it).

import type { Actor, RequestRecord } from "../records";

export interface HandoffPort {
  /** Seals the values, stores them and sends the operator a one-time link; resolves the link's expiry. */
  offer(input: {
    request: RequestRecord;
    operator: Actor;
    values: { clientId: string; clientSecret: string; redirectUrl: string; portalUrl: string; expiresAt: string };
  }): Promise<{ tokenHash: string; expiresAt: string }>;
}
