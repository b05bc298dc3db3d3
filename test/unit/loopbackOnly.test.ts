// The guard preloaded into every bot process the tests spawn (test/support/loopbackOnly.cjs): only
// loopback is a test target. Checked in a child process whose real connect is a recording stub, so
// this test itself never opens a connection.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";

const GUARD = join(__dirname, "..", "support", "loopbackOnly.cjs");

it("refuses every non-loopback connection before it is made and lets loopback through", () => {
  const script = `
    const net = require("node:net");
    const real = [];
    net.Socket.prototype.connect = function (...a) { real.push((a[0]?.[0] ?? a[0]).host); return this; };
    require(${JSON.stringify(GUARD)});
    const errors = [];
    const note = (e) => errors.push(e.code);
    net.connect({ host: "192.0.2.1", port: 9 }).on("error", note);
    net.connect(9, "192.0.2.1").on("error", note);
    require("node:http").get({ host: "169.254.169.254", path: "/" }).on("error", note);
    require("node:https").get({ host: "login.microsoftonline.com", path: "/" }).on("error", note);
    net.connect({ host: "127.0.0.1", port: 9 });
    net.connect({ host: "::1", port: 9 });
    net.connect({ host: "localhost", port: 9 });
    setTimeout(() => process.stdout.write(JSON.stringify({ real, errors })), 100);
  `;
  const run = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 10_000 });
  const { real, errors } = JSON.parse(run.stdout);
  expect(real).toEqual(["127.0.0.1", "::1", "localhost"]);
  expect(errors).toEqual(["ECONNREFUSED", "ECONNREFUSED", "ECONNREFUSED", "ECONNREFUSED"]);
  expect(run.stderr).toMatch(/blocked a connection to 169\.254\.169\.254/);
  expect(run.stderr).toMatch(/blocked a connection to login\.microsoftonline\.com/);
});
