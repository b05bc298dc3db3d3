// The Agents Toolkit's `script` step of m365agents.yml: generates syncbot's JOBS_KEY and HANDOFF_KEY
// once per environment and hands them back as SECRET_ variables (`::set-teamsfx-env`), which the
// toolkit keeps encrypted in env/.env.<env>.user. Keys that already exist are kept, so re-provisioning
// does not break pending hand-off links. Values are printed only in the toolkit's protocol line.
// Plain JavaScript: it runs before anything is installed or built.

const { randomBytes } = require("node:crypto");

const wanted = {
  // The x-jobs-key of POST /api/jobs/expiry-sweep: 32 random bytes, base64url (43 characters).
  SECRET_JOBS_KEY: () => randomBytes(32).toString("base64url"),
  // The hand-off encryption key: exactly 32 random bytes, base64 (what HANDOFF_KEY requires).
  SECRET_HANDOFF_KEY: () => randomBytes(32).toString("base64"),
};

for (const [name, make] of Object.entries(wanted)) {
  if (process.env[name]) continue;
  process.stdout.write(`::set-teamsfx-env ${name}=${make()}\n`);
}
