// syncbot on Azure: an App Service (Node 20) running `npm start`, its user-assigned managed identity
// (GRAPH_CREDENTIAL=managed-identity), a storage account for STORE=azure-tables (several instances),
// and the Azure Bot resource with the Teams channel. Graph application permissions for the identity
// (Application.ReadWrite.OwnedBy, RoleManagement.Read.Directory) are granted by a tenant admin
// separately: Bicep cannot grant them.

@description('Name prefix for all resources')
param name string = 'syncbot'
param location string = resourceGroup().location
@description('The service provider Entra tenant (SP_TENANT_ID)')
param spTenantId string
@description('The Microsoft App ID of the bot (single-tenant app registration)')
param botAppId string
@secure()
param botAppPassword string
@description('UMP settings API root, e.g. https://ump.example.net/api/ump-adapter/v1')
param umpBaseUrl string
@secure()
param umpToken string
@secure()
param jobsKey string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: toLower(replace('${name}st${uniqueString(resourceGroup().id)}', '-', ''))
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: { minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false, supportsHttpsTrafficOnly: true }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  kind: 'linux'
  sku: { name: 'B1' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: '${name}-${uniqueString(resourceGroup().id)}'
  location: location
  identity: { type: 'UserAssigned', userAssignedIdentities: { '${identity.id}': {} } }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'NODE|20-lts'
      appCommandLine: 'npm start'
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'MicrosoftAppId', value: botAppId }
        { name: 'MicrosoftAppPassword', value: botAppPassword }
        { name: 'MicrosoftAppType', value: 'SingleTenant' }
        { name: 'MicrosoftAppTenantId', value: spTenantId }
        { name: 'SP_TENANT_ID', value: spTenantId }
        { name: 'GRAPH_CREDENTIAL', value: 'managed-identity' }
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
        { name: 'UMP_TARGET', value: 'api' }
        { name: 'UMP_BASE_URL', value: umpBaseUrl }
        { name: 'UMP_TOKEN', value: umpToken }
        { name: 'STORE', value: 'azure-tables' }
        { name: 'AZURE_STORAGE_CONNECTION_STRING', value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}' }
        { name: 'JOBS_KEY', value: jobsKey }
        { name: 'NODE_ENV', value: 'production' }
      ]
    }
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${name}-bot'
  location: 'global'
  kind: 'azurebot'
  sku: { name: 'F0' }
  properties: {
    displayName: 'syncbot'
    endpoint: 'https://${app.properties.defaultHostName}/api/messages'
    msaAppId: botAppId
    msaAppType: 'SingleTenant'
    msaAppTenantId: spTenantId
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: { channelName: 'MsTeamsChannel', properties: { isEnabled: true } }
}

output botEndpoint string = bot.properties.endpoint
output managedIdentityPrincipalId string = identity.properties.principalId
