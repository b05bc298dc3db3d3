// createServer: the HTTP surface of syncbot (CONTRACT section 3) on restify. Built here, listened to in
// index.ts, so tests boot the whole bot in-process on port 0.

import restify from "restify";
import type { TeamsBot } from "../bot/createTeamsBot";
import { AUTH_FAILURE_ANSWER, classifyAuthFailure } from "./classifyAuthFailure";
import { describeError } from "../domain/errors";
import type { Logger } from "../domain/ports";
import type { Sweeper } from "../domain/sweep/createSweeper";
import { sameSecret } from "./sameSecret";
import type { HandoffPages } from "../ump/createHandoff";

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
    try {
      await deps.bot.process(req as never, guardedResponse(res, deps.logger) as never);
    } catch (e) {
      // botbuilder validates the activity's shape before its own try (zod, validateAndFixActivity) and
      // throws: that is the sender's malformed request, answered without the internal message.
      deps.logger.warn("activity refused", { status: 400, reason: describeError(e).message.slice(0, 200) });
      if (!res.headersSent) res.send(400, { error: "bad_request", message: "The activity is malformed." });
    }
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
        settledParked: result.settledParked ?? [],
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
    // GET shows a Reveal button and changes nothing (link scanners such as Safe Links fetch URLs);
    // only the POST that button sends reveals the values and uses the link up (CONTRACT section 6).
    const send = (res: restify.Response, page: { status: number; html: string }) => {
      res.writeHead(page.status, HANDOFF_HEADERS);
      res.end(page.html);
    };
    server.get("/handoff/:token", async (req, res) => send(res, await pages.open(String(req.params.token ?? ""))));
    server.post("/handoff/:token", async (req, res) => send(res, await pages.reveal(String(req.params.token ?? ""))));
  }
  return server;
}

const HANDOFF_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  pragma: "no-cache",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/**
 * botbuilder ends a failed request itself (status + the raw error message). This stands in for the
 * response it writes to, so a failure is answered with the right status and no internal detail.
 */
function guardedResponse(res: restify.Response, logger: Logger) {
  let status = 200;
  let body: unknown;
  return {
    status(code: number) {
      status = code;
      return this;
    },
    header(name: string, value: string) {
      res.header(name, value);
      return this;
    },
    send(b: unknown) {
      body = b;
      return this;
    },
    end() {
      // An invoke's own 401 (a sign-in request, CONTRACT section 4) is the bot's answer, not an auth failure.
      const invokeAnswer = typeof body === "object" && body !== null && "statusCode" in body;
      const failure =
        (status === 401 && !invokeAnswer) || (status >= 500 && typeof body === "string")
          ? classifyAuthFailure(status, String(body ?? ""))
          : null;
      if (failure) {
        logger.warn("activity refused", { status, failure, reason: String(body ?? "").slice(0, 200) });
        const answer = AUTH_FAILURE_ANSWER[failure];
        res.send(answer.status, answer.body);
      } else if (body !== undefined) res.send(status, body);
      else {
        res.status(status);
        res.end();
      }
    },
  };
}
