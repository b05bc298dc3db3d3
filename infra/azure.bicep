// syncbot on Azure, provisioned by `atk provision` (m365agents.yml, arm/deploy). One user-assigned
// managed identity is syncbot's Bot Framework identity (Azure Bot msaAppType UserAssignedMSI: no bot
// password), its Graph identity (GRAPH_CREDENTIAL=managed-identity) and its storage identity (Table
// data through RBAC: no account key anywhere). JOBS_KEY, HANDOFF_KEY and UMP_TOKEN live in Key Vault
// (infra/keyVault.bicep: keys created in Azure once, never overwritten), referenced from app settings.
// Graph application permissions for the identity are granted by a tenant admin afterwards (README,
// "Running against a real tenant"): Bicep cannot grant them.
//
// Optional settings arrive as the word 'none' when unset: the Agents Toolkit refuses to pass an empty
// ${{VAR}} into the parameters file (MissingEnvironmentVariablesError), so env/.env.<env> says 'none'
// and this file maps it back to the default.

@maxLength(20)
@minLength(4)
@description('Name prefix for all resources (syncbot + RESOURCE_SUFFIX)')
param resourceBaseName string
param location string = resourceGroup().location
@description('App Service plan SKU; B1 or above (alwaysOn is not available on F1/D1)')
param webAppSku string = 'B1'
@description('The service provider Entra tenant (SP_TENANT_ID). Default (or \'none\'): the tenant of this subscription, the only tenant in which the managed identity can get tokens; any other value stops the deployment')
param spTenantId string = tenant().tenantId
@allowed(['api', 'handoff'])
param umpTarget string = 'api'
@description('UMP settings API root, e.g. https://ump.example.net/api/ump-adapter/v1 (UMP_TARGET=api)')
param umpBaseUrl string = ''
@allowed(['global-admin', 'allow-list', 'either'])
param approvalPolicy string = 'global-admin'
@description('Comma-separated Entra object ids (APPROVER_IDS); \'none\' or empty: unset')
param approverIds string = ''
@description('Prefill of the service provider FQDN (DEFAULT_SP_FQDN); \'none\' or empty: unset')
param defaultSpFqdn string = ''
@description('The public https address of the bot (PUBLIC_BASE_URL, hand-off links), e.g. a custom domain bound to the app; \'none\' or empty: https://<app>.azurewebsites.net')
param publicBaseUrl string = ''
@secure()
@description('Bearer token for the UMP API (UMP_TARGET=api), from SECRET_UMP_TOKEN; not passed in handoff mode')
param umpToken string = ''

// Verified approvals (issue 16): the SSO app registration and the Azure Bot OAuth connection (infra/botSso.bicep).
@description('The SSO app registration approvers sign in to (AAD_APP_CLIENT_ID, made by aadApp/create)')
param ssoAppClientId string
@secure()
@description('The SSO app registration client secret, for the Azure Bot OAuth connection')
param ssoAppClientSecret string
@description('APPROVAL_AUTH_CONTEXT: the Conditional Access authentication context approvals demand (e.g. c1); empty = none')
param approvalAuthContext string = ''

var unset = ['', 'none']
var spTenantRequested = contains(unset, spTenantId) ? tenant().tenantId : spTenantId
// The check: an object whose only key is this subscription's tenant, read at the requested tenant. Any
// other SP_TENANT_ID fails the deployment with "The language expression property '<requested>' doesn't
// exist, available properties are '<subscription tenant>'" (read first by the identity's tag, below).
var spTenant = { '${tenant().tenantId}': tenant().tenantId }[spTenantRequested]
var approvers = contains(unset, approverIds) ? '' : approverIds
var spFqdn = contains(unset, defaultSpFqdn) ? '' : defaultSpFqdn
var suffix = uniqueString(resourceGroup().id, resourceBaseName)
var appName = '${resourceBaseName}-${suffix}'
var publicUrl = contains(unset, publicBaseUrl) ? 'https://${appName}.azurewebsites.net' : publicBaseUrl
// Built-in role ids: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${resourceBaseName}-id'
  location: location
  // The first resource reads the checked tenant: a wrong SP_TENANT_ID fails template validation, before
  // the deployment creates anything.
  tags: { 'syncbot-sp-tenant': spTenant }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${resourceBaseName}-logs'
  location: location
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${resourceBaseName}-ai'
  location: location
  kind: 'web'
  properties: { Application_Type: 'web', WorkspaceResourceId: logs.id }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(toLower(replace('${resourceBaseName}${suffix}', '-', '')), 24)
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Entra ID only: syncbot reaches its table with the managed identity (AZURE_TABLES_ENDPOINT).
    allowSharedKeyAccess: false
  }
}

resource tableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

module keyVault 'keyVault.bicep' = {
  name: 'syncbot-key-vault'
  params: {
    location: location
    resourceBaseName: resourceBaseName
    identityPrincipalId: identity.properties.principalId
    umpToken: umpTarget == 'api' ? umpToken : ''
  }
}
var vaultName = keyVault.outputs.name

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${resourceBaseName}-plan'
  location: location
  kind: 'linux'
  sku: { name: webAppSku }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  kind: 'app,linux'
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${identity.id}': {} } }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references are resolved with the user-assigned identity (there is no system one).
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'NODE|22-lts'
      appCommandLine: 'npm start'
      alwaysOn: true
      healthCheckPath: '/healthz'
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: concat(
        [
          // App Service's build of the zip deploy: npm install + npm run build on Linux.
          { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'true' }
          // Application Insights: syncbot's in-code Azure Monitor exporter (src/telemetry.ts) sends request
          // telemetry and its log records. No App Service autoinstrumentation agent
          // (ApplicationInsightsAgent_EXTENSION_VERSION): it would send every request a second time.
          { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
          { name: 'MicrosoftAppId', value: identity.properties.clientId }
          { name: 'MicrosoftAppType', value: 'UserAssignedMSI' }
          { name: 'MicrosoftAppTenantId', value: identity.properties.tenantId }
          { name: 'SP_TENANT_ID', value: spTenant }
          { name: 'GRAPH_CREDENTIAL', value: 'managed-identity' }
          { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
          { name: 'STORE', value: 'azure-tables' }
          { name: 'AZURE_TABLES_ENDPOINT', value: storage.properties.primaryEndpoints.table }
          { name: 'UMP_TARGET', value: umpTarget }
          { name: 'PUBLIC_BASE_URL', value: publicUrl }
          { name: 'APPROVAL_POLICY', value: approvalPolicy }
          { name: 'JOBS_KEY', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=JOBS-KEY)' }
          { name: 'HANDOFF_KEY', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=HANDOFF-KEY)' }
        ],
        umpTarget != 'api' || empty(umpBaseUrl) ? [] : [{ name: 'UMP_BASE_URL', value: umpBaseUrl }],
        umpTarget != 'api' || empty(umpToken) ? [] : [{ name: 'UMP_TOKEN', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=UMP-TOKEN)' }],
        empty(approvers) ? [] : [{ name: 'APPROVER_IDS', value: approvers }],
        empty(spFqdn) ? [] : [{ name: 'DEFAULT_SP_FQDN', value: spFqdn }],
        // Verified approvals (issue 16): approvers' own fresh sign-in, checked by syncbot.
        [
          { name: 'APPROVAL_STEP_UP', value: 'required' }
          { name: 'SSO_RESOURCE', value: ssoResource }
          { name: 'SSO_CONNECTION_NAME', value: ssoConnectionName }
        ],
        contains(unset, approvalAuthContext) ? [] : [{ name: 'APPROVAL_AUTH_CONTEXT', value: approvalAuthContext }]
      )
    }
  }
  // The vault (keys, token, read role) is waited for through keyVault.outputs.name.
  dependsOn: [tableData]
}

// Entra ID only for deployments (the toolkit's zip deploy sends a bearer token, README, "Deploying from
// GitHub Actions"): no publishing user name and password for Kudu (SCM) or FTP.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${resourceBaseName}-bot'
  location: 'global'
  kind: 'azurebot'
  sku: { name: 'F0' }
  properties: {
    displayName: 'syncbot'
    endpoint: 'https://${app.properties.defaultHostName}/api/messages'
    msaAppId: identity.properties.clientId
    msaAppType: 'UserAssignedMSI'
    msaAppMSIResourceId: identity.id
    msaAppTenantId: identity.properties.tenantId
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: { channelName: 'MsTeamsChannel', properties: { isEnabled: true } }
}

// Verified approvals (issue 16): the OAuth connection approvers sign in through (infra/botSso.bicep).
var ssoConnectionName = 'syncbot-sso'
var ssoResource = 'api://${appName}.azurewebsites.net/botid-${identity.properties.clientId}'
module botSso 'botSso.bicep' = {
  name: 'botSso'
  params: {
    botName: bot.name
    connectionName: ssoConnectionName
    ssoAppClientId: ssoAppClientId
    ssoAppClientSecret: ssoAppClientSecret
    tenantId: spTenant
    ssoResource: ssoResource
  }
}

// Written to env/.env.<env> by arm/deploy (output names become variable names).
output BOT_ID string = identity.properties.clientId
output BOT_TENANT_ID string = identity.properties.tenantId
output BOT_DOMAIN string = app.properties.defaultHostName
output BOT_ENDPOINT string = 'https://${app.properties.defaultHostName}'
output BOT_AZURE_APP_SERVICE_RESOURCE_ID string = app.id
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output KEY_VAULT_NAME string = vaultName
output SSO_RESOURCE string = ssoResource
output SSO_CONNECTION_NAME string = botSso.outputs.connectionName
