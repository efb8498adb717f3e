import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import type { Actor } from '../domain/audit.ts';
import { requestContext } from '../request-context.ts';
import type { Services } from '../services.ts';
import type { Database } from '../store/database.ts';
import { CliError, EXIT } from './exit-codes.ts';

// The store and the services are loaded when a verb needs them, not at start: `--help`, `--version` and usage errors
// then answer in a fraction of the time (the database drivers and the services are most of the start-up cost).
const store = () => import('../store/database.ts');

/** Options every verb that works on the database takes. */
export interface DatabaseOptions {
  databaseUrl?: string;
}

/**
 * The environment with the flags that override it applied: a flag wins over its variable. Only the flags given are
 * set, so the rest of the configuration (GATEHOUSE_ISSUER, …) still comes from the environment.
 */
export function envWith(overrides: Record<string, string | undefined>, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(overrides)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * The configuration from the environment and `--database-url`. A bad `--database-url` is a usage error (exit 2) that
 * names the flag; a bad environment variable is a failure (exit 1) that names the variable, as when the server starts.
 */
export function cliConfig(options: DatabaseOptions): Readonly<Config> {
  try {
    return loadConfig(envWith({ DATABASE_URL: options.databaseUrl }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // No password in these: src/cli.ts blots out DATABASE_URL's and --database-url's from every message it prints.
    if (options.databaseUrl !== undefined && err.message.startsWith('DATABASE_URL')) {
      throw new CliError(`--database-url (DATABASE_URL): ${err.message.slice('DATABASE_URL'.length).replace(/^[:\s]+/, '')}`, EXIT.usage);
    }
    throw new CliError(err.message, EXIT.failure);
  }
}

/**
 * Who the audit trail names for a change made at this terminal: the CLI and the operating-system account that ran it
 * (the database is reached directly, so there is no API key or user to name).
 */
export function cliActor(): Actor {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry for this uid (a container): fall back to the environment
  }
  return { kind: 'cli', id: name || process.env.USER || process.env.LOGNAME || `uid:${process.getuid?.() ?? 'unknown'}` };
}

/** Opens the configured database, failing with exit code 1 and one line when it cannot be reached or does not exist. */
export async function openForCli(config: Readonly<Config>, opts: { create?: boolean } = {}): Promise<Database> {
  const { describeConnectError, openDatabase, sqlitePath, withoutPassword } = await store();
  const url = config.databaseUrl;
  if (url.startsWith('sqlite:') && !opts.create) {
    const path = sqlitePath(url);
    // Opening would create an empty database, and the operator would be looking at the wrong file without knowing it.
    if (path !== ':memory:' && !existsSync(path)) {
      throw new CliError(`DATABASE_URL: the SQLite database ${path} does not exist (start the server once, or run gatehouse migrate)`, EXIT.failure);
    }
  }
  let database: Database;
  try {
    database = openDatabase(url, { poolSize: 2 });
  } catch (err) {
    throw new CliError(`DATABASE_URL: cannot open the database (${withoutPassword(err instanceof Error ? err.message : String(err), url)})`, EXIT.failure);
  }
  if (database.dialect === 'postgres') {
    const { sql } = await import('kysely');
    try {
      await sql`select 1`.execute(database.db);
    } catch (err) {
      await database.close().catch(() => {});
      throw new CliError(describeConnectError(url, err), EXIT.failure);
    }
  }
  return database;
}

export interface CliContext {
  config: Readonly<Config>;
  database: Database;
  services: Services;
}

/**
 * Runs `work` on the database with the services the server uses (createServices): the same validation, policies
 * and audit events. Migrates first, as the server does at start, so the command works on a database no server has
 * opened yet and while one runs (migrations are idempotent and locked). Every audit event it writes names the CLI.
 */
export async function withServices<T>(options: DatabaseOptions, work: (context: CliContext) => Promise<T>): Promise<T> {
  const config = cliConfig(options);
  const database = await openForCli(config);
  try {
    const [{ migrateToLatest }, { createServices }, { createArgon2Hasher }] = await Promise.all([
      import('../store/migrate.ts'),
      import('../services.ts'),
      import('../security/argon2-hasher.ts'),
    ]);
    await migrateToLatest(database.db, database.dialect, database.schema);
    const services = await createServices(config, { database, hasher: createArgon2Hasher() });
    return await requestContext.run({ requestId: null, clientIp: null, userAgent: 'gatehouse-cli' }, async () => {
      requestContext.setActor(cliActor());
      return work({ config, database, services });
    });
  } finally {
    await database.close();
  }
}
