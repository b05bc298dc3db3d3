#!/usr/bin/env bash
# Preflight of `atk provision` (README, "Running against a real tenant", step 0; the deploy workflow):
# does the signed-in Azure principal hold the roles infra/azure.bicep needs, before anything is created?
# It creates resources (Owner or Contributor) and three role assignments (Owner, User Access
# Administrator or Role Based Access Control Administrator). Without the second, the deployment stops
# half-way with AuthorizationFailed on Microsoft.Authorization/roleAssignments/write.
# Usage: scripts/checkDeployerRole.sh <subscription id> <resource group name>   (uses the `az` login)
set -euo pipefail
sub="${1:?usage: checkDeployerRole.sh <subscription id> <resource group name>}"
rg="${2:?usage: checkDeployerRole.sh <subscription id> <resource group name>}"

# The principal's object id from its own ARM token (users and service principals alike, no Graph call).
token=$(az account get-access-token --subscription "$sub" --query accessToken -o tsv)
oid=$(node -e 'const p=process.argv[1].split(".")[1];console.log(JSON.parse(Buffer.from(p,"base64url")).oid)' "$token")

scope="/subscriptions/$sub"
if [ "$(az group exists --subscription "$sub" --name "$rg")" = "true" ]; then scope="$scope/resourceGroups/$rg"; fi
roles=$(az role assignment list --subscription "$sub" --scope "$scope" --include-inherited \
  --query "[?principalId=='$oid'].roleDefinitionName" -o tsv | sort -u)

has() { grep -qx "$1" <<<"$roles"; }
create=false; assign=false
if has "Owner" || has "Contributor"; then create=true; fi
if has "Owner" || has "User Access Administrator" || has "Role Based Access Control Administrator"; then assign=true; fi

echo "Azure roles of $oid at $scope: ${roles//$'\n'/, }"
if $create && $assign; then
  echo "ok: can create the resources and the role assignments of infra/azure.bicep"
  exit 0
fi
$create || echo "missing: Owner or Contributor (to create the resources)" >&2
$assign || echo "missing: Owner, User Access Administrator or Role Based Access Control Administrator (for the three role assignments of infra/azure.bicep)" >&2
echo "Roles held through a group membership are not listed by this check; if yours come from a group, assign them to the principal directly or provision without this check." >&2
exit 1
