import type { OAuthClient } from '../../domain/sign-in-ports.ts';

/** The client as the API shows it: RFC 7591 names, never the secret or its hash. */
export function clientView(client: OAuthClient) {
  return {
    client_id: client.clientId,
    client_name: client.clientName,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    token_endpoint_auth_method: client.authMethod,
    grant_types: client.grantTypes,
    response_types: ['code'],
    client_id_issued_at: Math.floor(client.createdAt / 1000),
    updated_at: new Date(client.updatedAt).toISOString(),
  };
}
