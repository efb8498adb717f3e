import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { bootstrapAdminKey } from './bootstrap.ts';
import { loadConfig, type Config } from './config.ts';
import { createHashPool } from './security/hash-pool.ts';
import { openDatabase, type Database } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

/** Longest a shutdown waits for in-flight requests before closing their connections. */
const DRAIN_LIMIT_MS = 10_000;

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  config: Readonly<Config>;
  stop(): Promise<void>;
}

/** config → store → migrate → app → bootstrap key → listen. */
export async function startServer(env: Record<string, string | undefined> = process.env): Promise<RunningServer> {
  const config = loadConfig(env);
  const database = openDatabase(config.databaseUrl, { poolSize: config.dbPoolSize });
  try {
    await migrateToLatest(database.db, database.dialect, database.schema);
    const hasher = createHashPool();
    const app = await buildApp(config, { database, hasher });
    await bootstrapAdminKey(database, {
      adminKeyConfigured: config.adminKey !== null,
      maxApiKeys: config.maxApiKeys,
      print: (text) => process.stderr.write(text),
    });
    // While draining, every response closes its connection, so a keep-alive client cannot hold the process open.
    let draining = false;
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (draining) reply.header('connection', 'close');
      done(null, payload);
    });
    await app.listen({ port: config.port, host: config.host });
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        draining = true;
        // close() stops accepting and waits for in-flight requests; connections that go idle meanwhile are closed
        // as they do, and after DRAIN_LIMIT_MS whatever is left is cut.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        const cut = setTimeout(() => app.server.closeAllConnections(), DRAIN_LIMIT_MS);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
          clearTimeout(cut);
        }
        await database.close();
        await hasher.close();
      })());
    return { app, database, config, stop };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}

/** Runs the server until SIGTERM/SIGINT, then shuts down gracefully. Exits non-zero with one line on bad config. */
export async function runServer(): Promise<void> {
  let server: RunningServer;
  try {
    server = await startServer();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
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
