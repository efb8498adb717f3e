import { accessToken, signIn } from './auth.ts';

/**
 * Calls to Gatehouse's own API with the operator's access token. Every failure becomes an ApiError whose message is
 * a sentence for a person: the API's error bodies (`detail` as text or as a list of field problems, OAuth's
 * `error_description`) are turned into words here, so no page ever shows raw JSON.
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Field problems of a 422, by field name (`email`, `roles`…), for forms to show next to their inputs. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

interface FieldProblem {
  loc?: (string | number)[];
  msg?: string;
}

const FIELD_NAMES: Record<string, string> = {
  email: 'Email',
  firstName: 'First name',
  lastName: 'Last name',
  first_name: 'First name',
  last_name: 'Last name',
  password: 'Password',
  roles: 'Roles',
  name: 'Name',
  search_string: 'Search',
  redirect_uris: 'Redirect URIs',
  post_logout_redirect_uris: 'Post-logout redirect URIs',
  client_name: 'Name',
  expires_in_days: 'Expiry',
};

export function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** The words for a failed response: what went wrong, and what the operator can do about it. */
export function describeFailure(status: number, body: unknown, retryAfter?: string | null): ApiError {
  const b = (body ?? {}) as { detail?: unknown; error?: string; error_description?: string };
  if (status === 422 && Array.isArray(b.detail)) {
    const fields: Record<string, string> = {};
    const lines: string[] = [];
    for (const p of b.detail as FieldProblem[]) {
      const field = String(p.loc?.at(-1) ?? '');
      const label = FIELD_NAMES[field] ?? field;
      const msg = (p.msg ?? 'is not valid').replace(/^Value error, /, '');
      fields[field] ??= msg;
      lines.push(label ? `${label}: ${msg}` : msg);
    }
    return new ApiError(lines.join('. ') || 'Some values are not valid.', status, fields);
  }
  const detail = typeof b.detail === 'string' ? b.detail : (b.error_description ?? undefined);
  if (status === 401) return new ApiError('Your sign-in has ended. Sign in again to continue.', status);
  if (status === 403) return new ApiError(detail && detail !== 'Forbidden' ? `Not allowed: ${detail}` : 'Your roles do not allow this.', status);
  if (status === 404) return new ApiError(detail ?? 'Not found: it may have been deleted meanwhile.', status);
  if (status === 429) return new ApiError(`Too many requests. Try again${retryAfter ? ` in ${retryAfter} seconds` : ' shortly'}.`, status);
  if (status >= 500) return new ApiError('Gatehouse could not complete this (a server error). Try again; if it keeps failing, check the server log.', status);
  return new ApiError(detail ?? `The request was refused (HTTP ${status}).`, status);
}

async function send(path: string, options: RequestOptions, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(url(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('Gatehouse could not be reached. Check the network and try again.', 0);
  }
}

/** A response, after one refresh of the access token if the first answer was 401. */
export async function rawRequest(path: string, options: RequestOptions = {}): Promise<Response> {
  let token = await accessToken();
  if (!token) await signIn();
  let res = await send(path, options, token);
  if (res.status === 401) {
    token = await accessToken(true);
    if (!token) await signIn();
    res = await send(path, options, token);
  }
  if (!res.ok) throw describeFailure(res.status, await res.json().catch(() => undefined), res.headers.get('retry-after'));
  return res;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await rawRequest(path, options);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}
