// Hand-off mode (CONTRACT section 6): for a UMP without a settings API. The new secret is sealed with
// AES-256-GCM under HANDOFF_KEY (never stored in clear), the operator gets a one-time link in a
// personal chat, its page shows a Reveal button and the values once, after the POST that button sends;
// an unrevealed link's sealed secret is destroyed when it expires (provisioning.expireHandoffs). Only
// the SHA-256 of the 256-bit link token is stored.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { HandoffPort } from "../domain/steps/handoffPort";
import type { Clock, Logger } from "../domain/ports";
import type { StoredDoc } from "../domain/documentStore";
import type { Actor, ConversationRef } from "../domain/records";
import type { HandoffRecord, Repository } from "../domain/repository";

export interface HandoffDeps {
  key: Buffer;
  ttlMinutes: number;
  publicBaseUrl: string;
  repo: Repository;
  clock: Clock;
  logger: Logger;
  /** Sends the link to the operator in a personal chat. */
  sendLink: (input: {
    conversation: ConversationRef;
    operator: Actor;
    link: string;
    requestId: string;
    expiresAt: string;
    customer: string;
  }) => Promise<void>;
}

type Page = { status: number; html: string };

export interface HandoffPages {
  /** GET: a page with a Reveal button; changes nothing (link scanners fetch URLs). */
  open(token: string): Promise<{ status: number; html: string }>;
  /** POST: shows the values once, consumes the link and records when it was revealed. */
  reveal(token: string): Promise<{ status: number; html: string }>;
  /** Who the link was sent to and when it was revealed (for the "Applied in UMP" check). */
  revealState(tokenHash: string): Promise<{ operatorId: string; revealedAt?: string } | null>;
}

interface Payload {
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
  portalUrl: string;
  expiresAt: string;
  customer: string;
}

const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

export function createHandoff(deps: HandoffDeps): HandoffPort & HandoffPages {
  const seal = (payload: Payload): string => {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", deps.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final()]);
    return [iv, cipher.getAuthTag(), body].map((b) => b.toString("base64")).join(".");
  };
  const unseal = (sealed: string): Payload => {
    const [iv, tag, body] = sealed.split(".").map((s) => Buffer.from(s, "base64"));
    const decipher = createDecipheriv("aes-256-gcm", deps.key, iv!);
    decipher.setAuthTag(tag!);
    return JSON.parse(Buffer.concat([decipher.update(body!), decipher.final()]).toString("utf8")) as Payload;
  };

  return {
    async offer({ request, operator, values }) {
      const token = randomBytes(32).toString("base64url");
      const tokenHash = hashToken(token);
      const expiresAt = new Date(deps.clock.now().getTime() + deps.ttlMinutes * 60_000).toISOString();
      await deps.repo.putHandoff({
        tokenHash,
        requestId: request.id,
        customer: request.customer,
        sealed: seal({ ...values, customer: request.customer }),
        expiresAt,
        operatorId: operator.id,
      });
      await deps.sendLink({
        conversation: request.conversation,
        operator,
        link: `${deps.publicBaseUrl}/handoff/${token}`,
        requestId: request.id,
        expiresAt,
        customer: request.customer,
      });
      return { tokenHash, expiresAt };
    },

    async open(token) {
      const found = await find(token);
      if ("page" in found) return found.page;
      return page(
        200,
        `UMP System Settings for ${esc(found.doc.value.customer)}`,
        `<p>This one-time link holds the values to paste into Configuration &gt; UMP &gt; System Settings. They are shown once: press <b>Reveal</b> when you are ready to copy them (opening this page did not use the link up).</p>
<form method="post"><button type="submit">Reveal</button></form>`,
      );
    },

    async reveal(token) {
      const found = await find(token);
      if ("page" in found) return found.page;
      const { doc } = found;
      // Consume first (one conditional write): of two simultaneous reveals, only one sees the secret.
      const consumed = await deps.repo.consumeHandoff(doc, deps.clock.now().toISOString());
      if (!consumed) return page(410, "Link already used", "This one-time link was already used.");
      deps.logger.info("hand-off revealed", { requestId: doc.value.requestId, customer: doc.value.customer });
      const v = unseal(doc.value.sealed);
      return page(
        200,
        `UMP System Settings for ${esc(v.customer)}`,
        `<p>Paste these into Configuration &gt; UMP &gt; System Settings, press Apply Changes, then press <b>Applied in UMP</b> in Teams. This page is shown once.</p>
<table>
<tr><th>Application (client) ID</th><td><code>${esc(v.clientId)}</code></td></tr>
<tr><th>Client secret</th><td><code>${esc(v.clientSecret)}</code></td></tr>
<tr><th>Secret expires</th><td>${esc(v.expiresAt)}</td></tr>
<tr><th>Redirect (OAuth2Callback) URL</th><td><code>${esc(v.redirectUrl)}</code></td></tr>
<tr><th>Authentication Portal URL</th><td><code>${esc(v.portalUrl)}</code></td></tr>
</table>`,
      );
    },

    async revealState(tokenHash) {
      const doc = await deps.repo.getHandoff(tokenHash);
      return doc ? { operatorId: doc.value.operatorId, revealedAt: doc.value.revealedAt } : null;
    },
  };

  /** The live hand-off behind `token`, or the page that says why there is none. */
  async function find(token: string): Promise<{ page: Page } | { doc: StoredDoc<HandoffRecord> }> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token))
      return { page: page(404, "Unknown link", "This hand-off link does not exist.") };
    const doc = await deps.repo.getHandoff(hashToken(token));
    if (!doc) return { page: page(404, "Unknown link", "This hand-off link does not exist.") };
    if (doc.value.revealedAt || doc.value.consumedAt)
      return { page: page(410, "Link already used", `This one-time link was already used. ${ASK_AGAIN}`) };
    // An expired link's sealed secret is destroyed by provisioning.expireHandoffs, which also removes
    // the secret from Entra and fails the run; destroying it here would leave that secret behind.
    if (!doc.value.sealed || Date.parse(doc.value.expiresAt) <= deps.clock.now().getTime())
      return { page: page(410, "Link expired", `This one-time link has expired. ${ASK_AGAIN}`) };
    return { doc };
  }
}

const ASK_AGAIN = "Ask for a new secret with rotate <customer>.";

function page(status: number, title: string, body: string): Page {
  return {
    status,
    html: `<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>syncbot hand-off</title>
<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto}th{text-align:left;padding-right:1rem}code{user-select:all}</style></head>
<body><h1>${esc(title)}</h1>${body.startsWith("<") ? body : `<p>${esc(body)}</p>`}</body></html>`,
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
