// First link of the Graph middleware chain: the bearer token (cached until shortly before expiry),
// Accept-Language and the caller's correlation id on every request.

import type { TokenCredential } from "@azure/identity";
import type { Context, Middleware } from "@microsoft/microsoft-graph-client";
import { SyncbotError } from "../../domain/errors";
import { callOptionsOf, setHeader } from "./callOptions";

export class AuthAndHeadersMiddleware implements Middleware {
  private next?: Middleware;
  private cached?: { token: string; expiresAt: number };

  constructor(
    private readonly credential: TokenCredential | null,
    private readonly scope: string,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const opts = callOptionsOf(context);
    // Node's fetch sends "Accept-Language: *"; Graph localises messages, and operators read them in English.
    setHeader(context, "Accept-Language", "en-US");
    if (opts?.ctx.correlationId) setHeader(context, "client-request-id", opts.ctx.correlationId);
    if (this.credential) {
      try {
        setHeader(context, "Authorization", `Bearer ${await this.token()}`);
      } catch (e) {
        if (opts) opts.failure ??= e;
        throw e;
      }
    }
    await this.next!.execute(context);
  }

  // Credentials cache too, but not all of them; holding the token until 2 minutes before expiry
  // keeps a 50,000-app sweep from asking for one per page.
  private async token(): Promise<string> {
    if (this.cached && this.cached.expiresAt - 120_000 > Date.now()) return this.cached.token;
    const t = await this.credential!.getToken(this.scope);
    if (!t) throw new SyncbotError("upstream_failed", "the Graph credential returned no token");
    this.cached = { token: t.token, expiresAt: t.expiresOnTimestamp };
    return t.token;
  }
}
