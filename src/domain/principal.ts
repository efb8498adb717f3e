/** Who is calling: the result of authenticating a request, whatever the credential kind (CONTRACT.md §1.1). */
export type PrincipalKind = 'user' | 'api_key' | 'admin_key';

export interface Principal {
  kind: PrincipalKind;
  /** The user's id for an access token, the key's id for an API key, `admin-key` for the admin key. */
  id: string;
  roles: readonly string[];
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  /** For an access token: the login session it belongs to and when the user last entered their password (epoch ms). */
  sessionId?: string | undefined;
  authTime?: number | undefined;
}

export const ADMIN_KEY_PRINCIPAL_ID = 'admin-key';
