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

  /**
   * The claims of the current access token (its middle, base64url JSON segment); null without a
   * credential or when the token is not a JWT. Only claims are returned, never the token itself.
   */
  async claims(): Promise<Record<string, unknown> | null> {
    if (!this.credential) return null;
    const payload = (await this.token()).split(".")[1];
    if (!payload) return null;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
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
