import { encodeArgon2Phc, encodeBcrypt, encodePbkdf2, MAX_PBKDF2_ITERATIONS, type Pbkdf2Scheme } from '../security/legacy-password.ts';

/**
 * A Keycloak user's password credential, turned into what Gatehouse stores. Keycloak has written two shapes:
 * - since 8.0: `secretData` `{"value","salt","additionalParameters"}` and `credentialData`
 *   `{"hashIterations","algorithm","additionalParameters"}`, each a JSON string (objects are accepted too);
 * - before: `hashedSaltedValue`, `salt`, `hashIterations`, `algorithm` on the credential itself.
 * A hand-written realm may carry the password in clear (`value`, no hash): it is hashed with argon2id on import.
 */
export type KeycloakPassword =
  | { kind: 'hash'; hash: string; algorithm: string }
  | { kind: 'clear'; password: string }
  /** No usable password: `reason` says why (reported; the user is imported and needs a reset). */
  | { kind: 'none'; reason: string };

const PBKDF2: Record<string, Pbkdf2Scheme> = { pbkdf2: 'pbkdf2-sha1', 'pbkdf2-sha256': 'pbkdf2-sha256', 'pbkdf2-sha512': 'pbkdf2-sha512' };
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/** Keycloak keeps additional parameters as a multi-valued map (`{"memory": ["7168"]}`); a plain value is accepted too. */
function param(params: Json | undefined, name: string): string | undefined {
  const v = params?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' || typeof first === 'number' ? String(first) : undefined;
}

function bytes(value: unknown): Buffer | undefined {
  return typeof value === 'string' && BASE64.test(value) ? Buffer.from(value, 'base64') : undefined;
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

function integer(value: unknown, min: number, max: number): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

interface Parts {
  algorithm: string;
  value: unknown;
  salt: unknown;
  iterations: unknown;
  params: Json | undefined;
}

function partsOf(credential: Json): Parts | { clear: string } | undefined {
  if (credential.secretData !== undefined || credential.credentialData !== undefined) {
    const secret = object(credential.secretData);
    const data = object(credential.credentialData);
    if (!secret || !data) return undefined;
    return {
      algorithm: typeof data.algorithm === 'string' ? data.algorithm : '',
      value: secret.value,
      salt: secret.salt,
      iterations: data.hashIterations,
      params: object(data.additionalParameters),
    };
  }
  if (credential.hashedSaltedValue !== undefined) {
    return {
      algorithm: typeof credential.algorithm === 'string' ? credential.algorithm : '',
      value: credential.hashedSaltedValue,
      salt: credential.salt,
      iterations: credential.hashIterations,
      params: object(credential.config),
    };
  }
  if (typeof credential.value === 'string') return { clear: credential.value };
  return undefined;
}

/** The user's password from their `credentials` (the first of type `password`). */
export function keycloakPassword(credentials: unknown): KeycloakPassword {
  const list = Array.isArray(credentials) ? credentials : [];
  const credential = list.map(object).find((c) => c !== undefined && (c.type === 'password' || c.type === undefined));
  if (!credential) return { kind: 'none', reason: 'no_password' };
  const parts = partsOf(credential);
  if (!parts) return { kind: 'none', reason: 'malformed_credential' };
  if ('clear' in parts) return parts.clear === '' ? { kind: 'none', reason: 'no_password' } : { kind: 'clear', password: parts.clear };
  const algorithm = parts.algorithm.toLowerCase();
  const malformed = (what: string): KeycloakPassword => ({ kind: 'none', reason: `malformed_credential: ${algorithm} ${what}` });

  const scheme = PBKDF2[algorithm];
  if (scheme) {
    const hash = bytes(parts.value);
    const salt = bytes(parts.salt);
    const iterations = integer(parts.iterations, 1, MAX_PBKDF2_ITERATIONS);
    if (!hash || hash.length === 0 || hash.length > 1024) return malformed('value');
    if (!salt) return malformed('salt');
    if (iterations === undefined) return malformed('hashIterations');
    // The key length is the stored value's own (Keycloak's default is 512 bits, but it was configurable).
    return { kind: 'hash', hash: encodePbkdf2(scheme, iterations, salt, hash), algorithm };
  }

  if (algorithm === 'argon2') {
    // The community provider stores a whole PHC string as the value.
    if (typeof parts.value === 'string' && parts.value.startsWith('$argon2')) {
      const hash = encodeArgon2Phc(parts.value);
      return hash ? { kind: 'hash', hash, algorithm } : malformed('PHC string');
    }
    const hash = bytes(parts.value);
    const salt = bytes(parts.salt);
    if (!hash || hash.length < 4 || hash.length > 1024) return malformed('value');
    if (!salt || salt.length < 8) return malformed('salt');
    // Keycloak's own argon2 (since 24): parameters in credentialData.additionalParameters, iterations beside them.
    const type = param(parts.params, 'type') ?? 'id';
    const version = param(parts.params, 'version') ?? '1.3';
    const memory = integer(param(parts.params, 'memory') ?? '7168', 8, 4_194_304);
    const parallelism = integer(param(parts.params, 'parallelism') ?? '1', 1, 255);
    const iterations = integer(parts.iterations ?? 5, 1, 10_000);
    if (!['id', 'i', 'd'].includes(type)) return malformed('type');
    if (version !== '1.3' && version !== '1.0') return malformed('version');
    if (memory === undefined || parallelism === undefined || iterations === undefined) return malformed('parameters');
    const phc = `$argon2${type}$v=${version === '1.3' ? 19 : 16}$m=${memory},t=${iterations},p=${parallelism}$${b64(salt)}$${b64(hash)}`;
    const encoded = encodeArgon2Phc(phc);
    return encoded ? { kind: 'hash', hash: encoded, algorithm } : malformed('parameters');
  }

  if (algorithm === 'bcrypt') {
    // Community providers store the whole bcrypt string (`$2a$10$…`) as the value.
    const hash = typeof parts.value === 'string' ? encodeBcrypt(parts.value) : undefined;
    return hash ? { kind: 'hash', hash, algorithm } : malformed('value');
  }

  return { kind: 'none', reason: `unsupported_algorithm: ${algorithm.slice(0, 64) || '(none)'}` };
}
