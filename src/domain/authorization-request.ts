import type { AuthorizationRequest, OAuthClient } from './sign-in-ports.ts';
import type { OAuthErrorCode } from './errors.ts';

/** Scopes Gatehouse understands; others are dropped from the grant (RFC 6749 §3.3 lets the server narrow scope). */
export const SUPPORTED_SCOPES = ['openid', 'email', 'profile', 'offline_access'] as const;
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/; // base64url of a SHA-256: what S256 produces

export type ParsedAuthorizationRequest =
  | { kind: 'ok'; client: OAuthClient; request: AuthorizationRequest }
  /** The redirect URI cannot be trusted, so the browser is shown the error instead of being sent anywhere. */
  | { kind: 'error_page'; message: string }
  | {
      kind: 'redirect_error';
      redirectUri: string;
      responseMode: ResponseMode;
      error: OAuthErrorCode | 'request_not_supported' | 'request_uri_not_supported';
      description: string;
      state: string | null;
    };

/** Where the authorization response's parameters go: the query (the default for `code`) or the fragment. */
export type ResponseMode = 'query' | 'fragment';
export const RESPONSE_MODES: readonly ResponseMode[] = ['query', 'fragment'];

const text = (value: string | undefined, max: number) => (value === undefined || value === '' ? null : value.slice(0, max));

/**
 * Validates an authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636, RFC 9700). The
 * client and the exact redirect URI are checked first: until both are known good, nothing is redirected anywhere.
 */
export async function parseAuthorizationRequest(
  params: Record<string, string | undefined>,
  findClient: (clientId: string) => Promise<OAuthClient | undefined>,
): Promise<ParsedAuthorizationRequest> {
  const clientId = params.client_id;
  if (!clientId) return { kind: 'error_page', message: 'The application did not say who it is (client_id is missing).' };
  const client = clientId.length <= 100 ? await findClient(clientId) : undefined;
  if (!client) return { kind: 'error_page', message: 'The application is not registered with this sign-in service.' };
  const redirectUri = params.redirect_uri;
  if (!redirectUri) return { kind: 'error_page', message: 'The application did not say where to return (redirect_uri is missing).' };
  if (!client.redirectUris.includes(redirectUri)) {
    return { kind: 'error_page', message: 'The application asked to return to an address it has not registered.' };
  }

  const state = text(params.state, 2000);
  // keycloak-js asks for `fragment`: still the code flow, with the code where scripts read it rather than servers.
  const responseMode: ResponseMode = params.response_mode === 'fragment' ? 'fragment' : 'query';
  const fail = (error: OAuthErrorCode | 'request_not_supported' | 'request_uri_not_supported', description: string) =>
    ({ kind: 'redirect_error', redirectUri, responseMode, error, description, state }) as const;

  if (params.request !== undefined) return fail('request_not_supported', 'Request objects are not supported');
  if (params.request_uri !== undefined) return fail('request_uri_not_supported', 'request_uri is not supported');
  if (params.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported');
  if (params.response_mode !== undefined && !RESPONSE_MODES.includes(params.response_mode as ResponseMode)) {
    return fail('invalid_request', 'response_mode must be query or fragment');
  }

  let codeChallenge: string | null = null;
  if (params.code_challenge !== undefined) {
    if (params.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    if (!CODE_CHALLENGE.test(params.code_challenge)) return fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)');
    codeChallenge = params.code_challenge;
  } else if (params.code_challenge_method !== undefined) {
    return fail('invalid_request', 'code_challenge_method without code_challenge');
  }
  if (client.authMethod === 'none' && codeChallenge === null) return fail('invalid_request', 'PKCE (code_challenge with S256) is required for this client');

  const prompt = (params.prompt ?? '').split(' ').filter(Boolean);
  if (prompt.some((p) => !PROMPTS.has(p))) return fail('invalid_request', 'prompt must be none, login, consent or select_account');
  if (prompt.includes('none') && prompt.length > 1) return fail('invalid_request', 'prompt=none cannot be combined with other values');

  let maxAge: number | null = null;
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age)) return fail('invalid_request', 'max_age must be a whole number of seconds');
    maxAge = Number(params.max_age);
  }
  if ((params.nonce?.length ?? 0) > 500) return fail('invalid_request', 'nonce is too long');

  const requested = (params.scope ?? '').split(' ').filter(Boolean);
  const scope = SUPPORTED_SCOPES.filter((s) => requested.includes(s)).join(' ');

  return {
    kind: 'ok',
    client,
    request: {
      clientId: client.clientId,
      redirectUri,
      responseMode,
      scope,
      state,
      nonce: text(params.nonce, 500),
      codeChallenge,
      prompt,
      maxAge,
      loginHint: text(params.login_hint, 320),
    },
  };
}

/** The redirect back to the client, with `iss` (RFC 9207) so a client talking to several providers cannot be confused. */
export function redirectTo(redirectUri: string, params: Record<string, string | null>, issuer: string, mode: ResponseMode = 'query'): string {
  const url = new URL(redirectUri);
  const response = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...params, iss: issuer })) if (value !== null) response.append(key, value);
  if (mode === 'fragment') {
    url.hash = response.toString();
    return url.toString();
  }
  for (const [key, value] of response) url.searchParams.append(key, value);
  return url.toString();
}
