// Verified approvals (issue 16, CONTRACT section 4): the Azure Bot OAuth connection approvers sign in
// through when their Teams SSO token falls short (too old, no authentication context). It uses the SSO
// app registration the Agents Toolkit creates (aadApp/create + aadApp/update with infra/aad.sso.manifest.json:
// App ID URI api://{BOT_DOMAIN}/botid-{BOT_ID}, scope access_as_user, Teams clients pre-authorized,
// redirect https://token.botframework.com/.auth/web/redirect). Kept apart from azure.bicep so each
// file has one concern. Provider id: Azure Active Directory v2 (the Agents Toolkit's bot SSO template).

@description('The Azure Bot this connection belongs to')
param botName string
@description('SSO_CONNECTION_NAME: the OAuth connection approvers sign in through')
param connectionName string = 'syncbot-sso'
@description('The SSO app registration (AAD_APP_CLIENT_ID)')
param ssoAppClientId string
@secure()
@description('Its client secret (SECRET_AAD_APP_CLIENT_SECRET, made by aadApp/create)')
param ssoAppClientSecret string
param tenantId string
@description('SSO_RESOURCE: the App ID URI approvers tokens are issued for (webApplicationInfo.resource)')
param ssoResource string

resource bot 'Microsoft.BotService/botServices@2022-09-15' existing = {
  name: botName
}

resource connection 'Microsoft.BotService/botServices/connections@2022-09-15' = {
  parent: bot
  name: connectionName
  location: 'global'
  properties: {
    serviceProviderDisplayName: 'Azure Active Directory v2'
    serviceProviderId: '30dd229c-58e3-4a48-bdfd-91ec48eb906c'
    clientId: ssoAppClientId
    clientSecret: ssoAppClientSecret
    // The token's audience is the SSO resource: what syncbot checks (aud = SSO_RESOURCE).
    scopes: '${ssoResource}/access_as_user'
    parameters: [
      { key: 'tenantID', value: tenantId }
      { key: 'tokenExchangeUrl', value: ssoResource }
    ]
  }
}

output connectionName string = connection.name
