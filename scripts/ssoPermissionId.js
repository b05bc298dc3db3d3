// The Agents Toolkit's `script` step for verified approvals (issue 16): the id of the SSO app
// registration's `access_as_user` scope (infra/aad.sso.manifest.json), made once per environment and
// kept in env/.env.<env> so re-provisioning updates the same scope. Not a secret.
// Plain JavaScript: it runs before anything is installed or built.

const { randomUUID } = require("node:crypto");

const wanted = {
  AAD_APP_ACCESS_AS_USER_PERMISSION_ID: () => randomUUID(),
};

for (const [name, make] of Object.entries(wanted)) {
  if (process.env[name]) continue;
  process.stdout.write(`::set-teamsfx-env ${name}=${make()}\n`);
}
