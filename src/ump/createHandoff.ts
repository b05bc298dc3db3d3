// Hand-off mode (CONTRACT section 6): for a UMP without a settings API. The new secret is sealed with
// AES-256-GCM under HANDOFF_KEY (never stored in clear), the operator gets a one-time link in a
// personal chat, the page shows the values once; an unopened link's sealed secret is destroyed when
// it expires (provisioning.expireHandoffs). Only the SHA-256 of the 256-bit link token is stored.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { HandoffPort } from "../domain/steps/handoffPort";
import type { Clock, Logger } from "../domain/ports";
import type { Actor, ConversationRef } from "../domain/records";
import type { Repository } from "../domain/repository";

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

export interface HandoffPages {
  open(token: string): Promise<{ status: number; html: string }>;
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
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return page(404, "Unknown link", "This hand-off link does not exist.");
      const doc = await deps.repo.getHandoff(hashToken(token));
      if (!doc) return page(404, "Unknown link", "This hand-off link does not exist.");
      if (doc.value.consumedAt || !doc.value.sealed)
        return page(
          410,
          "Link already used",
          "This one-time link was already opened or has expired. Ask for a new secret with rotate <customer>.",
        );
      if (Date.parse(doc.value.expiresAt) <= deps.clock.now().getTime()) {
        await deps.repo.destroyHandoff(doc.key);
        return page(410, "Link expired", "This one-time link has expired and the secret it held was destroyed.");
      }
      // Consume first (one conditional write): of two simultaneous opens, only one sees the secret.
      const consumed = await deps.repo.consumeHandoff(doc, deps.clock.now().toISOString());
      if (!consumed) return page(410, "Link already used", "This one-time link was already opened.");
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
  };
}

function page(status: number, title: string, body: string) {
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
