// Application Insights from the real bot process: with APPLICATIONINSIGHTS_CONNECTION_STRING pointing at
// a fake ingestion endpoint on 127.0.0.1 (HTTPS with a certificate made for this test: the exporter
// turns http:// endpoints into https://), a health probe, a help message and a whole provisioning run
// reach it as request telemetry and syncbot's log lines as log records, flushed on SIGTERM; no secret
// value (issued client secret, UMP token, jobs key, hand-off token) is in anything sent.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProcessStack, runCli, startProcessStack } from "../support/botProcess";
import { expectNoSecretIn, findAction, JOBS_KEY, UMP_TOKEN, USERS } from "../support/stack";

interface Envelope {
  name: string;
  iKey?: string;
  tags?: Record<string, string>;
  data?: { baseType?: string; baseData?: Record<string, any> };
}

const IKEY = "00000000-0000-0000-0000-000000000000";
const HANDOFF_TOKEN = "hT0ken-never-in-telemetry-4f9c2a";
const dir = mkdtempSync(join(tmpdir(), "syncbot-otel-"));
const raw: string[] = [];
const envelopes: Envelope[] = [];
const paths: string[] = [];
let ingestion: Server;
let s: ProcessStack;

beforeAll(async () => {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "pipe" },
  );
  ingestion = createServer(
    { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
        const text = body.toString("utf8");
        raw.push(`${req.method} ${req.url}\n${text}`);
        paths.push(req.url ?? "");
        if (req.url?.startsWith("/v2.1/track")) {
          const items = JSON.parse(text) as Envelope[];
          envelopes.push(...items);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
          return;
        }
        // Live metrics: nobody is watching.
        res.writeHead(200, { "content-type": "application/json", "x-ms-qps-subscribed": "false" });
        res.end("{}");
      });
    },
  );
  await new Promise<void>((r) => ingestion.listen(0, "127.0.0.1", r));
  const { port } = ingestion.address() as { port: number };
  const endpoint = `https://127.0.0.1:${port}/`;
  s = await startProcessStack({
    APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${IKEY};IngestionEndpoint=${endpoint};LiveEndpoint=${endpoint}`,
    // The test's certificate, trusted by the bot process only (verification stays on).
    NODE_EXTRA_CA_CERTS: join(dir, "cert.pem"),
    // The SDK's own usage reports go to Microsoft's endpoints, not the connection string's: off in a test.
    APPLICATIONINSIGHTS_STATSBEAT_DISABLED: "true",
    // Every request traced (the distro's default samples at most 5 requests a second).
    OTEL_TRACES_SAMPLER: "always_on",
  });
  await s.start();
}, 60_000);

afterAll(async () => {
  await s?.stop();
  await new Promise((r) => ingestion?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const requests = () => envelopes.filter((e) => e.data?.baseType === "RequestData").map((e) => e.data!.baseData!);
const messages = () => envelopes.filter((e) => e.data?.baseType === "MessageData").map((e) => e.data!.baseData!);

describe("Application Insights (in-code Azure Monitor exporter)", () => {
  it("sends request telemetry and log records, flushed on SIGTERM, with no secret in them", async () => {
    expect((await fetch(`${s.bot.url}/healthz`)).status).toBe(200);
    // The jobs key travels in a header of an instrumented request; a hand-off link has its token in the path.
    const sweep = await fetch(`${s.bot.url}/api/jobs/expiry-sweep`, {
      method: "POST",
      headers: { "x-jobs-key": JOBS_KEY },
    });
    expect(sweep.status).toBe(200);
    await fetch(`${s.bot.url}/handoff/${HANDOFF_TOKEN}`);

    await s.say("help");
    await waitUntil(() => s.connector.activities.length > 0, "the help answer");
    // A whole provisioning run: Graph issues a client secret and syncbot writes it into UMP.
    await s.say("provision contoso");
    const { activityId } = s.lastCardMessage();
    await s.press(activityId, "Review plan");
    await s.waitForView(USERS.approver, activityId, (c) => findAction(c, "Approve") !== undefined, 10_000);
    await s.press(activityId, "Approve", { user: USERS.approver });
    const card = await s.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text), 25_000);
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(s.graph.issuedSecrets().length).toBeGreaterThan(0);

    // SIGTERM: the bot closes and flushes what the batch processors still hold.
    process.kill(-s.bot.pid, "SIGTERM");
    expect(await s.bot.exited).toBe(0);

    expect(envelopes.length, s.logs().slice(-20).join("\n")).toBeGreaterThan(0);
    // The distro probes the Azure VM metadata address whatever its options; the tests' loopback guard
    // (test/support/loopbackOnly.cjs) stops it before a packet leaves, and nothing else is attempted.
    const blocked = s.logs().filter((l) => l.includes("loopbackOnly: blocked"));
    expect(blocked.filter((l) => !l.includes("169.254.169.254"))).toEqual([]);
    expect(envelopes.every((e) => e.iKey === IKEY)).toBe(true);
    const reqs = requests();
    const urls = reqs.map((r) => String(r.url));
    expect(urls.some((u) => u.endsWith("/healthz"))).toBe(true);
    expect(reqs.find((r) => String(r.url).endsWith("/healthz"))).toMatchObject({ responseCode: "200", success: true });
    expect(urls.filter((u) => u.endsWith("/api/messages")).length).toBeGreaterThanOrEqual(2);
    expect(urls.some((u) => u.endsWith("/handoff/[masked]"))).toBe(true);
    // Dependency items for every outbound call: Graph, the token endpoint (the new secret's proof) and UMP
    // through fetch (the undici instrumentation), the Bot Connector through node:http. The provisioning
    // run's calls carry its correlation id, the one UMP received in x-correlation-id.
    const deps = envelopes.filter((e) => e.data?.baseType === "RemoteDependencyData").map((e) => e.data!.baseData!);
    const runIds = new Set(s.ump.requests.map((r) => r.headers["x-correlation-id"]).filter(Boolean));
    expect(runIds.size, "one run, one correlation id").toBe(1);
    const [runId] = [...runIds];
    const to = (base: string, path = "") => deps.filter((d) => String(d.data ?? "").startsWith(base + path));
    const graphDeps = to(s.graph.graphBaseUrl);
    const tokenDeps = deps.filter((d) => /\/oauth2\/v2\.0\/token$/.test(String(d.data ?? "")));
    const umpDeps = to(s.ump.url);
    const connectorDeps = to(s.connector.url, "/v3/conversations/");
    for (const [what, list] of Object.entries({ graphDeps, tokenDeps, umpDeps, connectorDeps }))
      expect(list.length, `${what}: ${deps.map((d) => d.data).join(", ")}`).toBeGreaterThan(0);
    for (const d of [...graphDeps, ...tokenDeps, ...umpDeps, ...connectorDeps]) {
      expect(d.type).toBe("Http");
      expect(String(d.resultCode)).toMatch(/^[1-5]\d\d$/);
    }
    // addPassword, the proof of the new secret at the token endpoint, the UMP write: all with the run's id.
    const addPassword = graphDeps.filter((d) => /\/addPassword$/.test(String(d.data)));
    expect(addPassword.length).toBeGreaterThan(0);
    for (const d of [...addPassword, ...tokenDeps, ...umpDeps]) {
      expect(d.properties?.correlationId, d.data).toBe(runId);
      expect(d.success, d.data).toBe(true);
    }
    // The run's card updates (PUT to the connector) carry it too.
    const cardUpdates = connectorDeps.filter((d) => d.name === "PUT" || /^PUT\b/.test(String(d.name)));
    expect(cardUpdates.some((d) => d.properties?.correlationId === runId)).toBe(true);

    // syncbot's own log lines, as log records with their (masked) fields.
    const msgs = messages();
    const listening = msgs.find((m) => m.message === "syncbot listening");
    expect(listening?.properties).toMatchObject({
      store: "sqlite",
      umpTarget: "api",
      telemetry: "application-insights",
    });
    expect(listening?.severityLevel).toBe("Information");
    expect(msgs.some((m) => m.message === "shutting down")).toBe(true);

    const sent = raw.join("\n");
    expect(sent).not.toContain(HANDOFF_TOKEN);
    expectNoSecretIn(sent, [...s.graph.issuedSecrets(), UMP_TOKEN, JOBS_KEY]);
    expectNoSecretIn(s.everything(), s.graph.issuedSecrets());
    // Everything went to the configured endpoint (ingestion and live metrics), nothing elsewhere.
    expect(paths.every((p) => p.startsWith("/v2.1/track") || p.startsWith("/QuickPulseService.svc"))).toBe(true);
  }, 90_000);
});

describe("Application Insights from the CLIs (npm run doctor, npm run reminders)", () => {
  it("each run is a request item with its outcome in counts, and its outbound calls are its dependencies", async () => {
    for (const [script, args, name] of [
      ["doctorCli.ts", [], "doctor"],
      ["remindersCli.ts", ["--dry-run"], "reminders"],
    ] as const) {
      const before = envelopes.length;
      const r = await runCli(script, args, s.env, dir);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      // The CLI flushed before it exited: everything is already here.
      const mine = envelopes.slice(before);
      const runs = mine.filter((e) => e.data?.baseType === "RequestData" && e.data.baseData?.name === name);
      expect(runs.length, `${name}: ${mine.map((e) => e.data?.baseType).join(", ")}`).toBe(1);
      const run = runs[0]!;
      expect(run.data!.baseData).toMatchObject({ success: true });
      if (name === "doctor") expect(Number(run.data!.baseData!.properties?.fail)).toBe(0);
      else expect(run.data!.baseData!.properties).toMatchObject({ dryRun: "true", failures: "0" });
      const operation = run.tags?.["ai.operation.id"];
      expect(operation).toBeTruthy();
      const deps = mine.filter((e) => e.data?.baseType === "RemoteDependencyData");
      const graphDeps = deps.filter((e) => String(e.data!.baseData!.data).startsWith(s.graph.graphBaseUrl));
      expect(graphDeps.length, name).toBeGreaterThan(0);
      for (const d of graphDeps) expect(d.tags?.["ai.operation.id"], name).toBe(operation);
      if (name === "doctor") expect(deps.some((e) => String(e.data!.baseData!.data).startsWith(s.ump.url))).toBe(true);
    }
    const sent = raw.join("\n");
    expectNoSecretIn(sent, [...s.graph.issuedSecrets(), UMP_TOKEN, JOBS_KEY]);
    // Two CLI processes, each loading the distro (seconds on a busy machine).
  }, 180_000);
});

async function waitUntil(pred: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
