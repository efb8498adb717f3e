/**
 * Configuration comes from the environment only, is validated once at start, and is frozen. A bad value stops the
 * process with one line naming the variable (CONTRACT.md §5). There are no default secrets.
 */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** PostgreSQL connections per process. */
  dbPoolSize: number;
  adminKey: string | null;
  maxApiKeys: number;
  issuer: string;
  accessTokenTtlSeconds: number;
  audience: string;
  refreshTokenTtlSeconds: number;
  temporaryPasswordTtlSeconds: number;
  /** Requests a minute per client IP on the login endpoints; 0 disables the limit. */
  authRateLimitPerMinute: number;
  lockoutThreshold: number;
  lockoutWindowSeconds: number;
  lockoutDurationSeconds: number;
  /** How long a verified credential is remembered per process; bounds cross-replica revocation delay. */
  authCacheTtlMs: number;
  /** Browser origins allowed to call the API (CORS); empty means no CORS headers at all. */
  corsOrigins: string[];
  /** A client must send its whole request within this many milliseconds. */
  requestTimeoutMs: number;
  /** Believe X-Forwarded-For (behind a load balancer) when telling clients apart. */
  trustProxy: boolean;
  logLevel: LogLevel;
  /** The algorithm tokens are signed with. */
  signingAlg: SigningAlg;
  /** How long a sign-in (browser session, password-grant login) lasts at most, in seconds. */
  sessionTtlSeconds: number;
}

export const SIGNING_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const ADMIN_KEY_MIN_LENGTH = 32;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function origins(env: Env): string[] {
  const raw = env.GATEHOUSE_CORS_ORIGINS?.trim();
  if (!raw) return [];
  const list = raw.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of list) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(`GATEHOUSE_CORS_ORIGINS: "${origin}" is not an origin like https://app.example.com`);
    }
    if (url.origin !== origin) throw new ConfigError(`GATEHOUSE_CORS_ORIGINS: "${origin}" is not an origin like https://app.example.com`);
  }
  return list;
}

function databaseUrl(env: Env): string {
  const url = env.DATABASE_URL?.trim() || 'sqlite:./data/gatehouse.db';
  if (url.startsWith('sqlite:')) {
    if (url.length === 'sqlite:'.length) throw new ConfigError('DATABASE_URL "sqlite:" needs a path, e.g. sqlite:./data/gatehouse.db');
    return url;
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL is not a valid postgres:// URL');
    }
    return url;
  }
  throw new ConfigError('DATABASE_URL must start with sqlite: or postgres:// (or postgresql://)');
}

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const adminKey = env.GATEHOUSE_ADMIN_KEY;
  if (adminKey !== undefined && adminKey !== '' && adminKey.length < ADMIN_KEY_MIN_LENGTH) {
    throw new ConfigError(`GATEHOUSE_ADMIN_KEY must be at least ${ADMIN_KEY_MIN_LENGTH} characters`);
  }
  if (adminKey && /\s/.test(adminKey)) throw new ConfigError('GATEHOUSE_ADMIN_KEY must not contain whitespace');

  const logLevel = (env.GATEHOUSE_LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`GATEHOUSE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const port = integer(env, 'PORT', 8000, 0, 65535);
  const issuer = (env.GATEHOUSE_ISSUER?.trim() || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  try {
    new URL(issuer);
  } catch {
    throw new ConfigError(`GATEHOUSE_ISSUER must be a URL, got "${issuer}"`);
  }

  const signingAlg = (env.GATEHOUSE_SIGNING_ALG?.trim() || 'RS256') as SigningAlg;
  if (!SIGNING_ALGS.includes(signingAlg)) throw new ConfigError(`GATEHOUSE_SIGNING_ALG must be one of ${SIGNING_ALGS.join(', ')}`);
  if (/[?#]/.test(issuer) || !/^https?:$/.test(new URL(issuer).protocol)) {
    throw new ConfigError(`GATEHOUSE_ISSUER must be an http(s) URL without query or fragment, got "${issuer}"`);
  }

  return Object.freeze({
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    databaseUrl: databaseUrl(env),
    dbPoolSize: integer(env, 'GATEHOUSE_DB_POOL_SIZE', 10, 1, 1000),
    adminKey: adminKey ? adminKey : null,
    maxApiKeys: integer(env, 'GATEHOUSE_MAX_API_KEYS', 1000, 1, 1_000_000),
    issuer,
    accessTokenTtlSeconds: integer(env, 'GATEHOUSE_ACCESS_TOKEN_TTL', 900, 30, 86_400),
    audience: env.GATEHOUSE_AUDIENCE?.trim() || 'gatehouse',
    refreshTokenTtlSeconds: integer(env, 'GATEHOUSE_REFRESH_TOKEN_TTL', 30 * 86_400, 60, 365 * 86_400),
    temporaryPasswordTtlSeconds: integer(env, 'GATEHOUSE_TEMPORARY_PASSWORD_TTL', 7 * 86_400, 60, 365 * 86_400),
    authRateLimitPerMinute: integer(env, 'GATEHOUSE_AUTH_RATE_LIMIT', 60, 0, 10_000_000),
    lockoutThreshold: integer(env, 'GATEHOUSE_LOCKOUT_THRESHOLD', 10, 1, 1000),
    lockoutWindowSeconds: integer(env, 'GATEHOUSE_LOCKOUT_WINDOW', 900, 1, 86_400),
    lockoutDurationSeconds: integer(env, 'GATEHOUSE_LOCKOUT_DURATION', 900, 1, 86_400),
    trustProxy: boolean(env, 'GATEHOUSE_TRUST_PROXY', false),
    authCacheTtlMs: integer(env, 'GATEHOUSE_AUTH_CACHE_TTL_MS', 500, 0, 1000),
    corsOrigins: origins(env),
    requestTimeoutMs: integer(env, 'GATEHOUSE_REQUEST_TIMEOUT_MS', 15_000, 100, 600_000),
    logLevel,
    signingAlg,
    sessionTtlSeconds: integer(env, 'GATEHOUSE_SESSION_TTL', 36_000, 60, 365 * 86_400),
  });
}
