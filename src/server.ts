// createServer: the HTTP surface of syncbot (CONTRACT section 3) on restify. Built here, listened to in
// index.ts, so tests boot the whole bot in-process on port 0.

import { timingSafeEqual } from "node:crypto";
import restify from "restify";
import type { TeamsBot } from "./bot/createTeamsBot";
import { describeError } from "./domain/errors";
import type { Logger } from "./domain/ports";
import type { Sweeper } from "./domain/createSweeper";
import type { HandoffPages } from "./ump/createHandoff";

export interface ServerDeps {
  bot: TeamsBot;
  sweeper: Sweeper;
  jobsKey?: string;
  ping: () => Promise<void>;
  logger: Logger;
  handoff?: HandoffPages;
}

export function createServer(deps: ServerDeps): restify.Server {
  const server = restify.createServer({ name: "syncbot", handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ mapParams: false, maxBodySize: 256 * 1024 }));
  server.use(restify.plugins.queryParser({ mapParams: false }));

  server.post("/api/messages", async (req, res) => {
    await deps.bot.process(req as never, res as never);
  });

  server.post("/api/jobs/expiry-sweep", async (req, res) => {
    if (!deps.jobsKey || !sameSecret(String(req.header("x-jobs-key") ?? ""), deps.jobsKey)) {
      res.send(401, { error: "unauthorized", message: "x-jobs-key is missing or wrong" });
      return;
    }
    try {
      const query = (req.query ?? {}) as Record<string, unknown>;
      const dryRun = query.dryRun === "true";
      if (query.at !== undefined) {
        // A sweep "at" another instant over HTTP could post false reminders; it may only look.
        if (!dryRun) {
          res.send(400, {
            error: "bad_request",
            message:
              "at is accepted only together with dryRun=true (a what-if that sends and removes nothing); to send reminders for a simulated instant use npm run reminders -- --at",
          });
          return;
        }
        if (typeof query.at !== "string" || Number.isNaN(new Date(query.at).getTime())) {
          res.send(400, { error: "bad_request", message: "at must be one ISO date" });
          return;
        }
      }
      const at = typeof query.at === "string" ? new Date(query.at) : undefined;
      const result = await deps.sweeper.sweep({ at, dryRun });
      res.send(200, {
        at: result.at,
        dryRun: result.dryRun,
        applications: result.applications,
        secrets: result.secrets,
        due: result.due.length,
        sent: result.sent,
        removedSuperseded: result.removedSuperseded.length,
        removedOrphans: result.removedOrphans.length,
        wouldRemoveSuperseded: result.wouldRemoveSuperseded.length,
        wouldRemoveOrphans: result.wouldRemoveOrphans.length,
        failures: result.failures,
      });
    } catch (e) {
      deps.logger.error("sweep failed", { error: describeError(e).message });
      res.send(502, { error: describeError(e).code, message: describeError(e).message });
    }
  });

  server.get("/healthz", async (_req, res) => {
    try {
      await deps.ping();
      res.send(200, { status: "ok" });
    } catch {
      res.send(503, { status: "unavailable" });
    }
  });

  if (deps.handoff) {
    const pages = deps.handoff;
    server.get("/handoff/:token", async (req, res) => {
      const page = await pages.open(String(req.params.token ?? ""));
      res.writeHead(page.status, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      });
      res.end(page.html);
    });
  }
  return server;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
