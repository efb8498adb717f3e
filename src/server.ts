import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { bootstrapAdminKey } from './bootstrap.ts';
import { loadConfig, type Config } from './config.ts';
import { createHashPool } from './security/hash-pool.ts';
import { openDatabase, type Database } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

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
    await app.listen({ port: config.port, host: config.host });
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await app.close(); // stops accepting, lets in-flight requests finish
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
  const shutdown = (signal: string) => {
    server.app.log.info({ signal }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        server.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
