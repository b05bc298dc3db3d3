# Run by the deployment script of infra/keyVault.bicep (Azure CLI container, identity with Key Vault
# Secrets Officer on the vault only). Creates JOBS-KEY and HANDOFF-KEY when the vault does not hold them
# and keeps them otherwise: provisioning again, from any machine or the pipeline, never replaces a key
# that pending hand-off links or a scheduler depend on. Values are never printed; only names and
# whether each was kept or created (the script's log is kept with the deployment).
set -eu

# 32 random bytes: base64url without padding (JOBS_KEY), standard base64 (HANDOFF_KEY).
random_key() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }

ensure() {
  name="$1"
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    if out=$(az keyvault secret show --vault-name "$VAULT" --name "$name" --query id -o tsv 2>&1); then
      echo "$name: kept (the vault already holds it)"
      return 0
    fi
    case "$out" in
      *SecretNotFound*)
        value=$(random_key)
        [ "$name" = JOBS-KEY ] && value=$(printf %s "$value" | tr '+/' '-_' | tr -d '=')
        az keyvault secret set --vault-name "$VAULT" --name "$name" --value "$value" --output none
        echo "$name: created"
        return 0
        ;;
      *ObjectIsDeletedButRecoverable*|*"deleted but recoverable"*)
        # A soft-deleted secret (a recovered vault, or a manual delete): bring the old value back.
        az keyvault secret recover --vault-name "$VAULT" --name "$name" --output none || true
        ;;
    esac
    # Forbidden right after the role assignment: Azure RBAC takes a few minutes to propagate.
    if [ "$attempt" -ge 40 ]; then
      echo "$name: cannot read the vault $VAULT after $attempt attempts: $out" >&2
      exit 1
    fi
    sleep "${ENSURE_KEYS_RETRY_SECONDS:-15}"
  done
}

ensure JOBS-KEY
ensure HANDOFF-KEY
