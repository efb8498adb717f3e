import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { findPostgres } from '../../scripts/find-postgres.mjs';

/**
 * PostgreSQL for tests. `npm test` (scripts/run-tests.mjs) finds a server once and passes it in TEST_DATABASE_URL;
 * a file run on its own finds one itself. Each caller gets a fresh schema, dropped after use.
 */
let found: Promise<string | null> | undefined;

export function postgresUrl(): Promise<string | null> {
  found ??= (async () => {
    if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
    const pgFound = await findPostgres();
    if (!pgFound) return null;
    process.once('exit', () => pgFound.stop());
    return pgFound.url;
  })();
  return found;
}

/** Why the PostgreSQL suites cannot run here, or false when they can: for `test(..., { skip })`. */
export async function postgresSkipReason(): Promise<string | false> {
  if (await postgresUrl()) return false;
  const reason = 'NO POSTGRESQL FOUND (no TEST_DATABASE_URL, nothing on 127.0.0.1:5432, no initdb): PostgreSQL suite not run';
  process.stderr.write(`\n!!! ${reason}\n\n`);
  return reason;
}

export interface TestSchema {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new, empty schema on the test server; `url` selects it through Gatehouse's `?schema=` parameter. */
export async function freshSchema(): Promise<TestSchema> {
  const base = await postgresUrl();
  if (!base) throw new Error('no PostgreSQL available');
  const name = `gh_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`create schema ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(base);
  url.searchParams.set('schema', name);
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`drop schema if exists ${name} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}
