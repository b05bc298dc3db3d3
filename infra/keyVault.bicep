// syncbot's Key Vault, a module of infra/azure.bicep. Two problems of a vault with a fixed name and keys
// passed in from the provisioning machine are solved here:
// - Name: purge protection keeps a deleted vault's name for its retention period, so a resource group
//   deleted and provisioned again would collide with its own old vault. The name is derived from the
//   managed identity's principal id, which Azure issues anew whenever the identity is created: stable
//   across re-provisioning of one resource group, new after a delete. A runtime value can name a
//   resource only inside a module (a nested deployment), which is why this is a module.
// - Keys: JOBS_KEY and HANDOFF_KEY are created inside Azure by a deployment script, only when the vault
//   does not already hold them (infra/ensureKeys.sh). ARM itself cannot ask whether a secret exists, and a
//   key generated on the provisioning machine would overwrite the vault from a second machine or the
//   pipeline. The keys never leave Azure.

param location string
param resourceBaseName string
@description('Principal id of syncbot\'s managed identity: seeds the vault name and gets Key Vault Secrets User')
param identityPrincipalId string
@secure()
@description('Bearer token for the UMP API; empty: no UMP-TOKEN secret is written (handoff mode)')
param umpToken string = ''

// Built-in role ids: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var vaultName = take('${take(resourceBaseName, 9)}kv${uniqueString(identityPrincipalId, resourceGroup().id)}', 24)

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    enablePurgeProtection: true
  }
}

resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

// The deployment script's own identity: it may write secrets of this vault and nothing else; syncbot's
// identity keeps read-only access.
resource keysWriter 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${resourceBaseName}-keys-id'
  location: location
}

resource keysWriterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, keysWriter.id, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: keysWriter.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
  }
}

resource ensureKeys 'Microsoft.Resources/deploymentScripts@2023-08-01' = {
  // Named after the vault: a new vault (after a delete) runs a new script; re-provisioning the same
  // vault leaves the script resource unchanged, and the script keeps existing keys anyway.
  name: '${vaultName}-keys'
  location: location
  kind: 'AzureCLI'
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${keysWriter.id}': {} } }
  properties: {
    azCliVersion: '2.67.0'
    timeout: 'PT15M'
    retentionInterval: 'PT1H'
    cleanupPreference: 'OnSuccess'
    environmentVariables: [{ name: 'VAULT', value: vault.name }]
    scriptContent: loadTextContent('ensureKeys.sh')
  }
  dependsOn: [keysWriterRole]
}

// The UMP token is the operator's value, not generated: written whenever it is given (a new token
// replaces the old one), left alone when it is not.
resource umpTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(umpToken)) {
  parent: vault
  name: 'UMP-TOKEN'
  properties: { value: umpToken }
}

// The app references this output, so it is created after the whole module: role, keys and token.
output name string = vault.name
