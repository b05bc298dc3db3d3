// infra/ensureKeys.sh, the deployment script that creates JOBS-KEY and HANDOFF-KEY in Key Vault, run
// against a stand-in `az` that keeps a vault in a folder and answers as the Azure CLI does (a missing
// secret: "(SecretNotFound) ... was not found in this key vault"; right after the role assignment:
// Forbidden; a soft-deleted secret: ObjectIsDeletedButRecoverable). A second provision must keep the
// keys, never print them, and wait out role propagation.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = resolve(__dirname, "../../infra/ensureKeys.sh");
const FAKE_AZ = `#!/usr/bin/env bash
# az keyvault secret show|set|recover --vault-name V --name N [--value X] ...
echo "$2 $3" >> "$STATE/calls"
name=""; value=""
while [ $# -gt 0 ]; do
  case "$1" in --name) name="$2"; shift ;; --value) value="$2"; shift ;; esac
  shift
done
forbidden=$(cat "$STATE/forbidden" 2>/dev/null || echo 0)
if [ "$forbidden" -gt 0 ]; then
  echo $((forbidden - 1)) > "$STATE/forbidden"
  echo "ERROR: (Forbidden) Caller is not authorized to perform action on resource." >&2; exit 1
fi
case "$(sed -n '$p' "$STATE/calls")" in
  "secret show")
    if [ -f "$STATE/vault/$name" ]; then echo "https://v.vault.azure.net/secrets/$name/1"; exit 0; fi
    if [ -f "$STATE/vault/$name.deleted" ]; then
      echo "ERROR: (Conflict) Secret $name is currently in a deleted but recoverable state. Code: ObjectIsDeletedButRecoverable" >&2; exit 1
    fi
    echo "ERROR: (SecretNotFound) A secret with (name/id) $name was not found in this key vault." >&2; exit 1 ;;
  "secret set") printf %s "$value" > "$STATE/vault/$name" ;;
  "secret recover") mv "$STATE/vault/$name.deleted" "$STATE/vault/$name" ;;
  *) echo "unexpected az call" >&2; exit 2 ;;
esac
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function vault() {
  const state = mkdtempSync(join(tmpdir(), "syncbot-kv-"));
  dirs.push(state);
  mkdirSync(join(state, "vault"));
  mkdirSync(join(state, "bin"));
  writeFileSync(join(state, "bin", "az"), FAKE_AZ);
  chmodSync(join(state, "bin", "az"), 0o755);
  const secret = (name: string) => readFileSync(join(state, "vault", name), "utf8");
  const calls = () =>
    existsSync(join(state, "calls")) ? readFileSync(join(state, "calls"), "utf8").trim().split("\n") : [];
  const run = () =>
    execFileSync("bash", [SCRIPT], {
      env: {
        PATH: `${join(state, "bin")}:${process.env.PATH}`,
        STATE: state,
        VAULT: "syncbotkvabc",
        ENSURE_KEYS_RETRY_SECONDS: "0",
      },
      encoding: "utf8",
    });
  return { state, secret, calls, run };
}

describe("infra/ensureKeys.sh (the Key Vault keys' deployment script)", () => {
  it("creates both keys in an empty vault, in the shapes syncbot requires, without printing them", () => {
    const v = vault();
    const out = v.run();
    expect(out).toBe("JOBS-KEY: created\nHANDOFF-KEY: created\n");
    expect(v.secret("JOBS-KEY")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(v.secret("HANDOFF-KEY"), "base64")).toHaveLength(32);
    expect(v.secret("HANDOFF-KEY")).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(v.secret("JOBS-KEY")).not.toBe(v.secret("HANDOFF-KEY"));
  });

  it("provisioning again keeps the keys the vault holds: no write at all", () => {
    const v = vault();
    v.run();
    const before = [v.secret("JOBS-KEY"), v.secret("HANDOFF-KEY")];
    const callsBefore = v.calls().length;
    expect(v.run()).toBe(
      "JOBS-KEY: kept (the vault already holds it)\nHANDOFF-KEY: kept (the vault already holds it)\n",
    );
    expect([v.secret("JOBS-KEY"), v.secret("HANDOFF-KEY")]).toEqual(before);
    expect(v.calls().slice(callsBefore)).toEqual(["secret show", "secret show"]);
  });

  it("waits out the role assignment's propagation (Forbidden) instead of failing or creating blindly", () => {
    const v = vault();
    writeFileSync(join(v.state, "forbidden"), "3");
    expect(v.run()).toBe("JOBS-KEY: created\nHANDOFF-KEY: created\n");
    expect(v.calls().filter((c) => c === "secret set")).toHaveLength(2);
  });

  it("brings back a soft-deleted key rather than replacing it", () => {
    const v = vault();
    writeFileSync(join(v.state, "vault", "JOBS-KEY.deleted"), "the-old-jobs-key-of-43-characters-xxxxxxxxx");
    expect(v.run()).toBe("JOBS-KEY: kept (the vault already holds it)\nHANDOFF-KEY: created\n");
    expect(v.secret("JOBS-KEY")).toBe("the-old-jobs-key-of-43-characters-xxxxxxxxx");
  });
});
