/** The API's shapes as the console reads them (see Gatehouse's OpenAPI document at /openapi.json). */

export interface Role {
  id: string;
  name: string;
  description: string;
  composite: boolean;
}

export interface User {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  roles: Role[];
  enabled: boolean;
  created_at: string;
  updated_at: string;
  locked_until: string | null;
  groups: { id: string; name: string }[];
}

export interface RoleInfo {
  name: string;
  description: string;
  permissions: string[];
}

export interface Me {
  user_id: string;
  kind: string;
  roles: string[];
  email: string | null;
  first_name: string | null;
  last_name: string | null;
}

export interface Group {
  id: string;
  name: string;
  description: string | null;
  roles: string[];
  member_count: number;
  created_at: string;
  updated_at: string;
}

export interface ApiKey {
  id: string;
  prefix: string;
  description: string | null;
  roles: string[];
  is_active: boolean;
  created_at: string;
  deactivated_at: string | null;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface Client {
  client_id: string;
  client_name: string | null;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  grant_types: string[];
  client_id_issued_at: number;
  updated_at: string;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: { kind: string; id: string | null };
  action: string;
  target: { type: string; id: string | null } | null;
  outcome: 'success' | 'failure';
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface CursorPage<T> {
  items: T[];
  next_cursor: string | null;
}
