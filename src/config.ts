import { isIP } from 'node:net';
import { emailProblem, normaliseEmail } from './domain/email.ts';
import { checkPassword } from './domain/password-policy.ts';

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
  /** Audit events older than this many days are removed (the cut is recorded); null keeps every event. */
  auditRetentionDays: number | null;
  /** `json` (one object a line, for collectors) or `pretty` (for a person at a terminal). */
  logFormat: LogFormat;
  /** Serve /metrics on its own listener on this port (same HOST) instead of the API port; null keeps it on the API port. */
  metricsPort: number | null;
  /** When set, /metrics answers only `Authorization: Bearer <this>`. */
  metricsToken: string | null;
  /** The algorithm tokens are signed with. */
  signingAlg: SigningAlg;
  /** How long a sign-in (browser session, password-grant login) lasts at most, in seconds. */
  sessionTtlSeconds: number;
  /** How recent a sign-in must be for a user to set their own password with an access token, in seconds. */
  reauthWindowSeconds: number;
  /**
   * The first operator, made at start on a database with no users (GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and _PASSWORD):
   * an ORG-ADMIN whose password is temporary. Null when the variables are not set. The password is a secret.
   */
  bootstrapAdmin: BootstrapAdmin | null;
}

export interface BootstrapAdmin {
  email: string;
  password: string;
}

export const SIGNING_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const ADMIN_KEY_MIN_LENGTH = 32;
export const METRICS_TOKEN_MIN_LENGTH = 16;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** A value as it appears in a message: quoted, escaped (so the message stays one line) and cut short. */
function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * The trimmed value of `name`, or undefined when it is not set at all. A variable that is set but empty (or only
 * blanks) is a mistake — `PORT=` in a unit file, an unfilled template — and is refused rather than taken as "use the
 * default". The one exception is GATEHOUSE_ADMIN_KEY, read in `loadConfig`, where empty has always meant unset.
 */
function read(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value === '') throw new ConfigError(`${name} is set but empty: give it a value, or unset it to use the default`);
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got ${show(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got ${show(raw)}`);
}

/** A DNS name by RFC 1123: dot-separated labels of letters, digits and inner hyphens; the last one not all digits. */
function isHostName(value: string): boolean {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // An all-digit last label would be read as a (partial) IPv4 address by the resolver: "127.1", "300.1.1.1".
  if (/^\d+$/.test(labels[labels.length - 1]!)) return false;
  return labels.every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}

function host(env: Env): string {
  const value = read(env, 'HOST') ?? '127.0.0.1';
  if (isIP(value) !== 0 || isHostName(value)) return value;
  throw new ConfigError(`HOST must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::) or a host name, got ${show(value)}`);
}

function origins(env: Env): string[] {
  const raw = read(env, 'GATEHOUSE_CORS_ORIGINS');
  if (raw === undefined) return [];
  const list = raw.split(',').map((o) => o.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError('GATEHOUSE_CORS_ORIGINS lists no origin: give origins like https://app.example.com, or unset it');
  for (const origin of list) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      // reported below
    }
    if (url?.origin !== origin) throw new ConfigError(`GATEHOUSE_CORS_ORIGINS: ${show(origin)} is not an origin like https://app.example.com`);
  }
  return list;
}

function logFormat(env: Env): LogFormat {
  const value = (read(env, 'GATEHOUSE_LOG_FORMAT') ?? 'json').toLowerCase() as LogFormat;
  if (!LOG_FORMATS.includes(value)) throw new ConfigError(`GATEHOUSE_LOG_FORMAT must be json or pretty, got ${show(value)}`);
  return value;
}

/** The metrics listener's port: a port of its own, so it must not be the API's (0, "any free port", excepted). */
function metricsPort(env: Env, apiPort: number): number | null {
  if (env.GATEHOUSE_METRICS_PORT === undefined) return null;
  const port = integer(env, 'GATEHOUSE_METRICS_PORT', 0, 0, 65535);
  if (port !== 0 && port === apiPort) throw new ConfigError(`GATEHOUSE_METRICS_PORT must differ from PORT (both are ${port})`);
  return port;
}

/** A bearer token for scrapers. It is a secret: messages describe it but never show it. */
function metricsToken(env: Env): string | null {
  const raw = env.GATEHOUSE_METRICS_TOKEN;
  if (raw === undefined) return null;
  if (raw.trim() === '') throw new ConfigError('GATEHOUSE_METRICS_TOKEN is set but empty: give it a value, or unset it to serve /metrics without a token');
  // A header value cannot carry blanks or control characters, so such a token could never be presented.
  if (!/^[\x21-\x7e]+$/.test(raw)) throw new ConfigError('GATEHOUSE_METRICS_TOKEN must be printable ASCII without whitespace');
  if (raw.length < METRICS_TOKEN_MIN_LENGTH) {
    throw new ConfigError(`GATEHOUSE_METRICS_TOKEN must be at least ${METRICS_TOKEN_MIN_LENGTH} characters`);
  }
  return raw;
}

function databaseUrl(env: Env): string {
  const url = read(env, 'DATABASE_URL') ?? 'sqlite:./data/gatehouse.db';
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

/**
 * GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD, both or neither. The password is checked
 * against the password policy here, so a weak one stops the start with one line, before anything is written; the
 * message says what the policy wants and never shows the password.
 */
function bootstrapAdmin(env: Env): BootstrapAdmin | null {
  const rawEmail = env.GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL;
  const password = env.GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD;
  if (rawEmail === undefined && password === undefined) return null;
  if (rawEmail === undefined) throw new ConfigError('GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD is set but GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL is not: set both, or neither');
  if (password === undefined) throw new ConfigError('GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL is set but GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD is not: set both, or neither');
  const email = normaliseEmail(read(env, 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL')!);
  const emailIssue = emailProblem(email);
  if (emailIssue) throw new ConfigError(`GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL is not a valid email address (${emailIssue}), got ${show(email)}`);
  // Taken as written (no trim): the operator types exactly this on the login page.
  if (password.trim() === '') throw new ConfigError('GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD is set but empty: give it a value, or unset both bootstrap variables');
  const problem = checkPassword(password);
  if (problem) throw new ConfigError(`GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD does not pass the password policy: ${problem}`);
  return { email, password };
}

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const adminKey = env.GATEHOUSE_ADMIN_KEY;
  if (adminKey !== undefined && adminKey !== '' && adminKey.length < ADMIN_KEY_MIN_LENGTH) {
    throw new ConfigError(`GATEHOUSE_ADMIN_KEY must be at least ${ADMIN_KEY_MIN_LENGTH} characters`);
  }
  if (adminKey && /\s/.test(adminKey)) throw new ConfigError('GATEHOUSE_ADMIN_KEY must not contain whitespace');

  const logLevel = (read(env, 'GATEHOUSE_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`GATEHOUSE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const port = integer(env, 'PORT', 8000, 0, 65535);
  const issuer = (read(env, 'GATEHOUSE_ISSUER') ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  // The URL parser drops tabs and line breaks silently; the issuer is used as written, so refuse them here.
  if (/[\s\u0000-\u001f\u007f]/.test(issuer)) throw new ConfigError(`GATEHOUSE_ISSUER must be a URL without blanks or control characters, got ${show(issuer)}`);
  try {
    new URL(issuer);
  } catch {
    throw new ConfigError(`GATEHOUSE_ISSUER must be a URL, got ${show(issuer)}`);
  }

  const signingAlg = (read(env, 'GATEHOUSE_SIGNING_ALG') ?? 'RS256') as SigningAlg;
  if (!SIGNING_ALGS.includes(signingAlg)) throw new ConfigError(`GATEHOUSE_SIGNING_ALG must be one of ${SIGNING_ALGS.join(', ')}`);
  if (/[?#]/.test(issuer) || !/^https?:$/.test(new URL(issuer).protocol)) {
    throw new ConfigError(`GATEHOUSE_ISSUER must be an http(s) URL without query or fragment, got ${show(issuer)}`);
  }

  return Object.freeze({
    port,
    host: host(env),
    databaseUrl: databaseUrl(env),
    dbPoolSize: integer(env, 'GATEHOUSE_DB_POOL_SIZE', 10, 1, 1000),
    adminKey: adminKey ? adminKey : null,
    maxApiKeys: integer(env, 'GATEHOUSE_MAX_API_KEYS', 1000, 1, 1_000_000),
    issuer,
    accessTokenTtlSeconds: integer(env, 'GATEHOUSE_ACCESS_TOKEN_TTL', 900, 30, 86_400),
    audience: read(env, 'GATEHOUSE_AUDIENCE') ?? 'gatehouse',
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
    logFormat: logFormat(env),
    auditRetentionDays: read(env, 'GATEHOUSE_AUDIT_RETENTION_DAYS') === undefined ? null : integer(env, 'GATEHOUSE_AUDIT_RETENTION_DAYS', 0, 1, 36_500),
    metricsPort: metricsPort(env, port),
    metricsToken: metricsToken(env),
    signingAlg,
    sessionTtlSeconds: integer(env, 'GATEHOUSE_SESSION_TTL', 36_000, 60, 365 * 86_400),
    reauthWindowSeconds: integer(env, 'GATEHOUSE_REAUTH_WINDOW', 300, 0, 86_400),
    bootstrapAdmin: bootstrapAdmin(env),
  });
}
