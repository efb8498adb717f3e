import SQLite from 'better-sqlite3';
import pg from 'pg';
import { sequentialLatency } from './load.ts';
import { startGatehouse } from './processes.ts';

/**
 * Reading the audit trail at 10 million events: the trail is filled in SQL (synthetic events, 100,000 actors and
 * targets, a rare action, one failure in 13, ten milliseconds apart), then GET /audit is timed with each filter.
 * The filled chain's hashes are placeholders: this measures reading, not verification.
 */
export const AUDIT_EVENTS = 10_000_000;
const START = Date.UTC(2026, 0, 1);
const STEP_MS = 10;

// One statement per dialect; `n` is the sequence number.
const ROW = (n: string, concat: (...parts: string[]) => string) => `
  ${n}, ${START} + ${n} * ${STEP_MS},
  case when ${n} % 10 = 0 then 'admin_key' else 'user' end,
  case when ${n} % 10 = 0 then 'admin-key' else ${concat("'u'", `(${n} % 100000)`)} end,
  case when ${n} % 100000 = 7 then 'user.deleted' when ${n} % 3 = 0 then 'user.updated' else 'sign_in' end,
  'user', ${concat("'u'", `((${n} * 7) % 100000)`)},
  case when ${n} % 13 = 0 then 'failure' else 'success' end,
  'bench', '127.0.0.1', 'bench', '{}', '${'0'.repeat(64)}', '${'0'.repeat(64)}'`;

export async function fillPostgres(url: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let from = 1; from <= count; from += 1_000_000) {
      const to = Math.min(count, from + 999_999);
      await client.query(`insert into audit_events select ${ROW('g', (...p) => p.join(' || '))} from generate_series(${from}::bigint, ${to}::bigint) g`);
    }
    await client.query(`update audit_head set seq = ${count}, at = ${START + count * STEP_MS}`);
    await client.query('vacuum analyze audit_events');
  } finally {
    await client.end();
  }
}

export function fillSqlite(path: string, count: number): void {
  const db = new SQLite(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    for (let from = 1; from <= count; from += 1_000_000) {
      const to = Math.min(count, from + 999_999);
      db.exec(`with recursive s(g) as (select ${from} union all select g + 1 from s where g < ${to})
        insert into audit_events select ${ROW('g', (...p) => p.join(' || '))} from s`);
    }
    db.exec(`update audit_head set seq = ${count}, at = ${START + count * STEP_MS}; analyze;`);
  } finally {
    db.close();
  }
}

export const AUDIT_QUERIES: [string, string][] = [
  ['newest page, no filter', '/audit'],
  ['one actor (100 events)', '/audit?actor=u4242'],
  ['one target (100 events)', '/audit?target=u4242'],
  ['rare action (user.deleted, 100 events)', '/audit?action=user.deleted'],
  ['failures', '/audit?outcome=failure'],
  ['one hour, mid-trail', `/audit?from=${new Date(START + 50_000_000).toISOString()}&to=${new Date(START + 53_600_000).toISOString()}`],
  ['one hour, mid-trail, failures of one action', `/audit?action=user.updated&outcome=failure&from=${new Date(START + 50_000_000).toISOString()}&to=${new Date(START + 53_600_000).toISOString()}`],
  ['a page deep in the trail (cursor at 5M)', `/audit?cursor=${Buffer.from('5000000').toString('base64url')}`],
  ["a user's trail (actor or target, 200 events)", '/users/u4242/audit'],
];

export async function auditReadLatency(env: Record<string, string>, admin: Record<string, string>, reps: number) {
  const gh = await startGatehouse(env);
  try {
    const out: [string, { p50: number; p99: number }][] = [];
    for (const [name, path] of AUDIT_QUERIES) out.push([name, await sequentialLatency(`${gh.url}${path}${path.includes('?') ? '&' : '?'}page_size=50`, admin, reps)]);
    return out;
  } finally {
    await gh.stop();
  }
}
