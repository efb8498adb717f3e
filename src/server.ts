import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from './app.ts';
import { createServices } from './services.ts';
import { bootstrapAdminKey } from './bootstrap.ts';
import { bootstrapAdminUser } from './bootstrap-admin.ts';
import { startAuditMaintenance } from './audit-maintenance.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { scrapeGuard } from './http/metrics-access.ts';
import { listenForScrapes, type MetricsListener } from './http/metrics-listener.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { createHashPool } from './security/hash-pool.ts';
import { describeConnectError, looseSqliteFileMode, openDatabase, sqlitePath, withoutPassword, type Database } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

/** Longest a shutdown waits for in-flight requests before closing their connections. */
const DRAIN_LIMIT_MS = 10_000;

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  config: Readonly<Config>;
  /** The app's metrics: `securityEvent` and `tokensIssued` count into them. */
  metrics: Metrics;
  /** The port /metrics is served on when GATEHOUSE_METRICS_PORT is set (the chosen one for 0), else null. */
  metricsPort: number | null;
  stop(): Promise<void>;
}

/** Opens the store named by DATABASE_URL; a failure (a SQLite path that cannot be created or opened) names it. */
function open(config: Readonly<Config>): Database {
  try {
    return openDatabase(config.databaseUrl, { poolSize: config.dbPoolSize });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (message.includes('DATABASE_URL')) throw new ConfigError(withoutPassword(message, config.databaseUrl));
    const where = config.databaseUrl.startsWith('sqlite:') ? `the SQLite database ${sqlitePath(config.databaseUrl)}` : 'the database';
    throw new ConfigError(`DATABASE_URL: cannot open ${where} (${withoutPassword(message, config.databaseUrl)})`);
  }
}

/** PostgreSQL is only reached lazily, so ask it something now: an unreachable server is a bad DATABASE_URL. */
async function reach(database: Database, url: string): Promise<void> {
  if (database.dialect !== 'postgres') return;
  try {
    await sql`select 1`.execute(database.db);
  } catch (err) {
    throw new ConfigError(describeConnectError(url, err));
  }
}

/** Fastify's listen, with the failures an operator can fix named by their variable (HOST or PORT). */
async function listen(app: FastifyInstance, config: Readonly<Config>): Promise<void> {
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const { host, port } = config;
    if (code === 'EADDRNOTAVAIL') throw new ConfigError(`HOST: cannot listen on ${host}: it is not an address of this machine (EADDRNOTAVAIL)`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') {
      throw new ConfigError(`HOST: cannot listen on ${host}: the name does not resolve to an address (${code})`);
    }
    if (code === 'EADDRINUSE') throw new ConfigError(`PORT: cannot listen on ${host}:${port}: the port is already in use (EADDRINUSE)`);
    if (code === 'EACCES') throw new ConfigError(`PORT: cannot listen on ${host}:${port}: permission denied (EACCES; ports below 1024 need privileges)`);
    throw err;
  }
}

/** The metrics listener (GATEHOUSE_METRICS_PORT), with the failures an operator can fix named by their variable. */
async function listenForMetrics(app: FastifyInstance, config: Readonly<Config>, metrics: Metrics): Promise<MetricsListener> {
  const port = config.metricsPort!;
  try {
    return await listenForScrapes({
      host: config.host,
      port,
      metrics,
      guard: scrapeGuard(config.metricsToken),
      onError: (err) => app.log.error({ err }, 'could not render /metrics'),
    });
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const where = `${config.host}:${port}`;
    if (code === 'EADDRINUSE') throw new ConfigError(`GATEHOUSE_METRICS_PORT: cannot listen on ${where}: the port is already in use (EADDRINUSE)`);
    if (code === 'EACCES') throw new ConfigError(`GATEHOUSE_METRICS_PORT: cannot listen on ${where}: permission denied (EACCES; ports below 1024 need privileges)`);
    throw err;
  }
}

/**
 * config → store → migrate → app → bootstrap administrator → bootstrap key → listen (the API, then the metrics listener when /metrics has a
 * port of its own). A failure releases whatever was opened, then throws.
 * The bootstrap key is printed before listening so that a client that sees the server ready finds it in the log;
 * a listen failure after it (HOST, PORT) leaves that key valid for the next start.
 */
export async function startServer(env: Record<string, string | undefined> = process.env): Promise<RunningServer> {
  const config = loadConfig(env);
  const database = open(config);
  let hasher: ReturnType<typeof createHashPool> | undefined;
  let app: FastifyInstance | undefined;
  let metricsListener: MetricsListener | undefined;
  try {
    await reach(database, config.databaseUrl);
    await migrateToLatest(database.db, database.dialect, database.schema);
    hasher = createHashPool();
    // Wired once, shared by the app and the bootstrap; background failures go to the app's log once it exists.
    let log: FastifyInstance['log'] | undefined;
    // Made before the services, so that what reports security events can count them (metrics.securityEvent).
    const metrics = createMetrics();
    const services = await createServices(config, { database, hasher, warn: (err, what) => log?.warn({ err }, what) });
    // Colours only for a person at a terminal who has not asked for none (https://no-color.org).
    const logColours = process.stdout.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
    app = await buildApp(config, { database, hasher, services, metrics, logColours });
    log = app.log;
    if (database.dialect === 'sqlite') {
      const mode = looseSqliteFileMode(sqlitePath(config.databaseUrl));
      if (mode !== null) {
        app.log.warn(`the database file ${sqlitePath(config.databaseUrl)} has mode ${mode.toString(8).padStart(4, '0')}: other users may read it (password hashes, signing keys); chmod 600 it`);
      }
    }
    // The bootstrap administrator first: once they exist, the database has an ORG-ADMIN user and needs no key.
    await bootstrapAdminUser(database, {
      admin: config.bootstrapAdmin,
      hasher,
      print: (text) => process.stderr.write(text),
      audit: services.audit,
    });
    await bootstrapAdminKey(database, {
      apiKeys: services.apiKeys,
      adminKeyConfigured: config.adminKey !== null,
      maxApiKeys: config.maxApiKeys,
      print: (text) => process.stderr.write(text),
      audit: services.audit,
    });
    // While draining, every response closes its connection, so a keep-alive client cannot hold the process open.
    let draining = false;
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (draining) reply.header('connection', 'close');
      done(null, payload);
    });
    await listen(app, config);
    if (config.metricsPort !== null) {
      metricsListener = await listenForMetrics(app, config, metrics);
      app.log.info(`metrics listening at http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${metricsListener.port}/metrics`);
    }
    const scrapes = metricsListener;
    const maintenance = startAuditMaintenance({
      db: database.db,
      dialect: database.dialect,
      writer: services.audit,
      clock: services.clock,
      retentionDays: config.auditRetentionDays,
      verification: services.auditTrail.verification,
      onError: (err, what) => app?.log.warn({ err }, what),
    });
    const running = app;
    const pool = hasher;
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        draining = true;
        maintenance.stop();
        // close() stops accepting and waits for in-flight requests; connections that go idle meanwhile are closed
        // as they do, and after DRAIN_LIMIT_MS whatever is left is cut.
        const sweep = setInterval(() => running.server.closeIdleConnections(), 50);
        const cut = setTimeout(() => running.server.closeAllConnections(), DRAIN_LIMIT_MS);
        try {
          // Scrapes stop with the API: a scraper then sees the target down, as it is.
          await Promise.all([running.close(), scrapes?.close()]);
        } finally {
          clearInterval(sweep);
          clearTimeout(cut);
        }
        await database.close();
        await pool.close();
      })());
    return { app: running, database, config, metrics, metricsPort: scrapes?.port ?? null, stop };
  } catch (err) {
    await metricsListener?.close().catch(() => {});
    await app?.close().catch(() => {});
    await hasher?.close().catch(() => {});
    await database.close().catch(() => {});
    throw err;
  }
}

/**
 * Runs the server until SIGTERM/SIGINT, then shuts down gracefully. Exits non-zero with one line on bad config.
 * `env`: the environment with `gatehouse serve`'s flags applied over it.
 */
export async function runServer(env: Record<string, string | undefined> = process.env): Promise<void> {
  let server: RunningServer;
  try {
    server = await startServer(env);
  } catch (err) {
    // One line, whatever the error, and never the database password.
    const message = withoutPassword(err instanceof Error ? err.message : String(err), env.DATABASE_URL).replace(/\s*[\r\n]+\s*/g, ' ');
    process.stderr.write(`gatehouse: ${message}\n`);
    process.exit(1);
  }
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    server.app.log.info({ signal }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        server.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: a supervisor (npm, tsx, systemd) may repeat the signal, and a second SIGTERM must not fall
  // through to Node's default action and kill the process mid-drain. Shutdown itself runs once.
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
