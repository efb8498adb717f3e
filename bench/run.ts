// `npm run bench [-- --quick] [-- --only hot|search|audit|audit-writes|console|startup]`: measures Gatehouse against a
// bare Node server, search at growing sizes on SQLite and PostgreSQL, hashing-bound operations against the raw
// argon2id rate, and start-up time — all in one run, printed as a markdown table (and, for a full run, written to
// bench/RESULTS.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { BENCH_TERMS, seedPerson } from '../scripts/seed-data.ts';
import { findPostgres } from '../scripts/find-postgres.mjs';
import { createArgon2Hasher } from '../src/security/argon2-hasher.ts';
import { load, sequentialLatency, type LoadResult } from './load.ts';
import { cpuMicrosOf, ROOT, rssOf, runTsx, startBareServer, startGatehouse } from './processes.ts';
import { replicaWrites } from './replica-writes.ts';
import { AUDIT_EVENTS, auditReadLatency, fillPostgres, fillSqlite } from './audit-trail.ts';
import { consoleSearchBench, type ConsoleSearchResult } from './console-search.ts';
import { measureStartup, startupTable } from './startup.ts';
import { openDatabase } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, rounds: { type: 'string', default: '1' } } });
const quick = values.quick;
// `--only audit`: the argon2id ceilings and the audit-trail sections alone, written to bench/RESULTS-audit.md;
// `--only audit-writes`: the ceilings and the replica writes alone (bench/RESULTS-audit-writes.md).
// `--only console`: the console's search in a real browser alone, on users seeded for it (bench/RESULTS-console.md).
// `--only search`: the search, count and SCIM lookup latencies alone, SQLite and PostgreSQL (bench/RESULTS-search.md).
// `--only hot`: the hot paths against the bare-Node ceiling alone (bench/RESULTS-hot.md); with `--rounds N` the rows
// are measured N times, interleaved, and each row shows its median (a busy machine's noise mostly cancels out).
const consoleOnly = values.only === 'console';
const searchOnly = values.only === 'search';
const hotOnly = values.only === 'hot';
// `--only startup`: time to a ready /readyz, compiled and through tsx (bench/RESULTS-startup.md); also in a full run.
const startupOnly = values.only === 'startup';
const auditOnly = values.only === 'audit' || values.only === 'audit-writes' || consoleOnly;
const auditReads = values.only !== 'audit-writes' && !consoleOnly && !searchOnly && !hotOnly;
const rounds = Math.max(1, Number(values.rounds) || 1);
const ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };
const PASSWORD = 'Bench-Login-Password-42';
const seconds = quick ? 3 : 10;
const CONNECTIONS = 32;
const out: string[] = [];
const say = (line = '') => {
  out.push(line);
  process.stdout.write(line + '\n');
};
const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
const env = (databaseUrl: string) => ({
  DATABASE_URL: databaseUrl,
  GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
  GATEHOUSE_AUTH_RATE_LIMIT: '0',
  GATEHOUSE_LOG_LEVEL: 'warn',
});

async function api(base: string, path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(base + path, { ...init, headers: { 'content-type': 'application/json', ...ADMIN, ...(init.headers ?? {}) } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const started = Date.now();

say(`## Gatehouse benchmark${quick ? ' (quick)' : ''}`);
say();
say(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}. ` +
  `Load from autocannon in a process of its own, ${CONNECTIONS} connections, ${seconds} s per row; server log level warn.`);

if (startupOnly) {
  await startupSection();
  if (!quick) writeFileSync(join(ROOT, 'bench', 'RESULTS-startup.md'), out.join('\n') + '\n');
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

// ---------------------------------------------------------------- hot paths against the bare-server ceiling
if (!auditOnly && !searchOnly) {
  const bare = await startBareServer();
  const gh = await startGatehouse(env(`sqlite:${join(work, 'hot.db')}`));
  try {
    const user = await api(gh.url, '/users', {
      method: 'POST',
      body: JSON.stringify({ email: 'hot@example.com', password: PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Hot', lastName: 'Path' }),
    });
    const key = await api(gh.url, '/auth/api_keys', { method: 'POST', body: JSON.stringify({ roles: ['CHAT-USER'] }) });
    const token = await api(gh.url, '/auth/token', { method: 'POST', body: JSON.stringify({ grant_type: 'password', username: user.email, password: PASSWORD }) });
    const check = '/users/permissions/check?action=create&resource=prompts';
    const targets: [string, string, Record<string, string>][] = [
      ['permission check, API key', gh.url + check, { authorization: `Bearer ${key.key}` }],
      ['permission check, access token', gh.url + check, { authorization: `Bearer ${token.access_token}` }],
      ['`GET /users/me`, access token', gh.url + '/users/me', { authorization: `Bearer ${token.access_token}` }],
    ];
    // Warm-up, not recorded: lets the JIT settle so the first measured row is not penalised.
    await load({ url: bare.url, connections: CONNECTIONS, seconds: 2 });
    for (const [, url, headers] of targets) await load({ url, connections: CONNECTIONS, seconds: 2, headers });
    // Each round measures the ceiling and then every row right after it; a row's share is taken within its round.
    // The server's CPU per request is read alongside: on a shared machine it moves far less than req/s does.
    type Measured = LoadResult & { cpuUs: number };
    const measure = async (server: typeof bare, url: string, headers?: Record<string, string>): Promise<Measured> => {
      const before = cpuMicrosOf(server.child.pid);
      const r = await load({ url, connections: CONNECTIONS, seconds, ...(headers ? { headers } : {}) });
      return { ...r, cpuUs: (cpuMicrosOf(server.child.pid) - before) / Math.max(1, r.rps * seconds) };
    };
    const runs: [Measured, Measured[]][] = [];
    for (let round = 0; round < rounds; round++) {
      const ceilingRun = await measure(bare, bare.url);
      const measured: Measured[] = [];
      for (const [, url, headers] of targets) measured.push(await measure(gh, url, headers));
      runs.push([ceilingRun, measured]);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const row = (pick: (run: [Measured, Measured[]]) => Measured, share: boolean) => {
      const rs = runs.map(pick);
      const sum = (f: (r: LoadResult) => number) => rs.reduce((n, r) => n + f(r), 0);
      return {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpuUs: median(rs.map((r) => r.cpuUs)),
        share: share ? median(runs.map((run) => pick(run).rps / run[0].rps)) : 1,
        errors: sum((r) => r.errors + r.non2xx),
        rounds: rs.map((r, i) => `${((r.rps / runs[i]![0].rps) * 100).toFixed(0)}%`),
      };
    };
    const rows = [['bare Node http server, `{}`', row((run) => run[0], false)] as const, ...targets.map(([name], i) => [name, row((run) => run[1][i]!, true)] as const)];
    say();
    say('### Hot paths (SQLite)');
    say();
    if (rounds > 1) {
      say(`Median of ${rounds} interleaved rounds; "rounds" lists each round's share of that round's ceiling.`);
      say();
    }
    say('"server CPU" is the server process\'s user + system time per request while the row ran (from /proc).');
    say();
    say(`| request | req/s | p50 ms | p99 ms | of ceiling | server CPU µs/req | errors |${rounds > 1 ? ' rounds |' : ''}`);
    say(`|---|---:|---:|---:|---:|---:|---:|${rounds > 1 ? '---|' : ''}`);
    for (const [name, r] of rows) {
      say(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${(r.share * 100).toFixed(0)}% | ${r.cpuUs.toFixed(1)} | ${r.errors} |${rounds > 1 ? ` ${r.rounds.join(' ')} |` : ''}`);
    }
  } finally {
    await Promise.all([bare.stop(), gh.stop()]);
  }
}

// ---------------------------------------------------------------- hashing-bound operations
// The machine's raw argon2id rates: the ceiling for creates and logins here and on the replicas below.
let hashRate = 0;
let verifyRate = 0;
if (!consoleOnly && !searchOnly && !hotOnly) {
  const hasher = createArgon2Hasher();
  const rate = async (op: () => Promise<unknown>) => {
    const until = Date.now() + seconds * 1000;
    let n = 0;
    // Four at a time: libuv's default thread pool, which is what the server hashes on too.
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        await op();
        n += 1;
      }
    }));
    return n / seconds;
  };
  const sample = await hasher.hash(PASSWORD);
  hashRate = await rate(() => hasher.hash(PASSWORD));
  verifyRate = await rate(() => hasher.verify(sample, PASSWORD));

  const gh = await startGatehouse(env(`sqlite:${join(work, 'hash.db')}`));
  try {
    await api(gh.url, '/users', {
      method: 'POST',
      body: JSON.stringify({ email: 'login@example.com', password: PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Log', lastName: 'In' }),
    });
    const createBody = JSON.stringify({ email: 'bench.{unique}@example.com', password: PASSWORD, temporary: true, roles: ['CHAT-USER'], firstName: 'B', lastName: 'C' });
    const createLoad = (s: number) => load({ url: gh.url + '/users', connections: 8, seconds: s, method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, uniqueBody: createBody });
    const loginLoad = (s: number) =>
      load({
        url: gh.url + '/auth/token',
        connections: 8,
        seconds: s,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'password', username: 'login@example.com', password: PASSWORD }),
      });
    // A few unmeasured seconds of each first: a fresh process spends them compiling (tsx, the JIT).
    await createLoad(Math.min(3, seconds));
    const creates = await createLoad(seconds);
    await loginLoad(Math.min(3, seconds));
    const logins = await loginLoad(seconds);
    const key = await api(gh.url, '/auth/api_keys', { method: 'POST', body: JSON.stringify({ roles: ['CHAT-USER'] }) });
    const [, checkDuring] = await Promise.all([
      load({ url: gh.url + '/users', connections: 8, seconds, method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, uniqueBody: createBody }),
      load({ url: gh.url + '/users/permissions/check?action=create&resource=prompts', connections: 4, seconds, headers: { authorization: `Bearer ${key.key}` } }),
    ]);
    say();
    say('### Hashing-bound operations (argon2id m=19456 KiB, t=2, p=1)');
    say();
    say('| operation | per second | of ceiling | p50 ms | p99 ms | errors |');
    say('|---|---:|---:|---:|---:|---:|');
    say(`| raw argon2id hash, 4 at a time (ceiling for creates) | ${hashRate.toFixed(1)} | 100% | | | |`);
    say(`| raw argon2id verify, 4 at a time (ceiling for logins) | ${verifyRate.toFixed(1)} | 100% | | | |`);
    say(`| \`POST /users\` | ${creates.rps.toFixed(1)} | ${pct(creates.rps, hashRate)} | ${creates.p50} | ${creates.p99} | ${creates.errors + creates.non2xx} |`);
    say(`| \`POST /auth/token\` (password grant) | ${logins.rps.toFixed(1)} | ${pct(logins.rps, verifyRate)} | ${logins.p50} | ${logins.p99} | ${logins.errors + logins.non2xx} |`);
    say(`| permission check while creates run | ${checkDuring.rps.toFixed(0)} | | ${checkDuring.p50} | **${checkDuring.p99}** | ${checkDuring.errors + checkDuring.non2xx} |`);
  } finally {
    await gh.stop();
  }
}

// ---------------------------------------------------------------- search at growing sizes, both dialects
const search = (term: string, page = 0, extra = '') => `/users?search_string=${encodeURIComponent(term)}&page=${page}&page_size=10${extra}`;
const count = (term: string, extra = '') => `/users/count?search_string=${encodeURIComponent(term)}${extra}`;
const scimUsers = (filter?: string) => `/scim/v2/Users?count=10${filter === undefined ? '' : `&filter=${encodeURIComponent(filter)}`}`;
// Seeded users hold TASK-ADMIN one in ten (scripts/seed.ts), so the role filter is a common one.
const QUERIES: [string, string][] = [
  [`≥3 chars, common ("${BENCH_TERMS.common}")`, search(BENCH_TERMS.common)],
  [`≥3 chars, mail domain ("${BENCH_TERMS.domain}")`, search(BENCH_TERMS.domain)],
  [`≥3 chars, mid ("${BENCH_TERMS.mid}")`, search(BENCH_TERMS.mid)],
  [`≥3 chars, rare ("${BENCH_TERMS.rare}")`, search(BENCH_TERMS.rare)],
  [`1–2 chars ("${BENCH_TERMS.short}")`, search(BENCH_TERMS.short)],
  [`two terms ("${BENCH_TERMS.twoTerms}")`, search(BENCH_TERMS.twoTerms)],
  ['no term, page 0', search('')],
  ['no term, page 1000', search('', 1000)],
  ['role filter (TASK-ADMIN), page 0', search('', 0, '&role=TASK-ADMIN')],
  [`role filter + common term ("${BENCH_TERMS.common}")`, search(BENCH_TERMS.common, 0, '&role=TASK-ADMIN')],
  ['count, no term', count('')],
  [`count, common ("${BENCH_TERMS.common}")`, count(BENCH_TERMS.common)],
  [`count, mail domain ("${BENCH_TERMS.domain}")`, count(BENCH_TERMS.domain)],
  [`count, rare ("${BENCH_TERMS.rare}")`, count(BENCH_TERMS.rare)],
  // What an identity provider asks before every create: does this userName exist? (Upper-cased: SCIM compares it
  // case-insensitively, and it must still use the email index.)
  ['SCIM `userName eq` (one user, any case)', scimUsers(`userName eq "${seedPerson(5_000).email.toUpperCase()}"`)],
  ['SCIM list, no filter, `count=10`', scimUsers()],
];
const SIZES = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const reps = quick ? 20 : 100;

async function searchBench(dialect: string, databaseUrl: string, sizes: number[]) {
  const table = new Map<string, { p50: number; p99: number }[]>();
  let rss: number | null = null;
  for (const size of sizes) {
    const t = Date.now();
    await runTsx('scripts/seed.ts', ['--users', String(size)], { DATABASE_URL: databaseUrl });
    process.stdout.write(`(${dialect}: ${size} users seeded in ${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
    const gh = await startGatehouse(env(databaseUrl));
    try {
      for (const [name, path] of QUERIES) {
        const r = await sequentialLatency(gh.url + path, ADMIN, reps);
        table.set(name, [...(table.get(name) ?? []), r]);
      }
      if (size === sizes.at(-1)) rss = rssOf(gh.child.pid);
    } finally {
      await gh.stop();
    }
  }
  say();
  say(`### Search and count latency, ${dialect} (ms, ${reps} sequential requests each, page_size 10)`);
  say();
  const sizeNames = sizes.map((s) => (s >= 1e6 ? `${s / 1e6}M` : `${s / 1e3}k`));
  say(`| query | ${sizeNames.map((s) => `${s} p50 | ${s} p99`).join(' | ')} | ${sizeNames.at(-1)}/${sizeNames[0]} p50 |`);
  say(`|---|${sizes.map(() => '---:|---:').join('|')}|---:|`);
  for (const [name] of QUERIES) {
    const r = table.get(name)!;
    say(`| ${name} | ${r.map((x) => `${ms(x.p50)} | ${ms(x.p99)}`).join(' | ')} | ${(r.at(-1)!.p50 / r[0]!.p50).toFixed(1)} |`);
  }
  if (rss !== null) say(`\nServer RSS at ${sizeNames.at(-1)} users after these searches: ${(rss / 2 ** 20).toFixed(0)} MiB.`);
}

// ---------------------------------------------------------------- the console's search, in a browser, at the largest size
const consoleSize = quick ? 100_000 : 1_000_000;
const consoleRows: [string, ConsoleSearchResult][] = [];
function consoleTable() {
  if (consoleRows.length === 0) return;
  const size = consoleSize >= 1e6 ? `${consoleSize / 1e6}M` : `${consoleSize / 1e3}k`;
  say();
  say(`### The console's search in Chromium, ${size} users (ms from the last keystroke until the rows are painted)`);
  say();
  say('The Users page of the built console, signed in as an ORG-ADMIN; each term replaces the last one in Search, every other one typed key by key 70 ms apart. ' +
    'The time includes the page\'s 120 ms debounce, the address update, `GET /users` and the render; "request" is the `GET /users` alone as the browser timed it.');
  say();
  say('| database | searches (typed) | p50 | p99 | max | request p50 | request p99 | wrong rows |');
  say('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, r] of consoleRows) {
    say(`| ${name} | ${r.searches} (${r.typed}) | **${ms(r.p50)}** | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.requestP50)} | ${ms(r.requestP99)} | ${r.wrong.length === 0 ? 0 : r.wrong.join(', ')} |`);
  }
}
async function consoleBench(dialect: string, databaseUrl: string, seed: boolean) {
  if (seed) {
    const t = Date.now();
    await runTsx('scripts/seed.ts', ['--users', String(consoleSize)], { DATABASE_URL: databaseUrl });
    process.stdout.write(`(${dialect}: ${consoleSize} users seeded in ${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
  }
  consoleRows.push([dialect, await consoleSearchBench(databaseUrl, env(databaseUrl), ADMIN)]);
}

if (!auditOnly && !hotOnly) await searchBench('SQLite', `sqlite:${join(work, 'search.db')}`, SIZES);
// The search database now holds the largest size: the console runs on it as it is (a full run), or seeds it first.
if (searchOnly) {
  // the search rows only
} else if (hotOnly) {
  // the hot paths only
} else if (!auditOnly && SIZES.at(-1) === consoleSize) await consoleBench('SQLite', `sqlite:${join(work, 'search.db')}`, false);
else if (consoleOnly || !auditOnly) await consoleBench('SQLite', `sqlite:${join(work, 'search.db')}`, true);

// ---------------------------------------------------------------- the audit trail at 10M events
const auditEvents = quick ? 1_000_000 : AUDIT_EVENTS;
function auditTable(dialect: string, rows: [string, { p50: number; p99: number }][]) {
  say();
  say(`### Reading the audit trail, ${dialect}, ${auditEvents / 1e6}M events (ms, ${reps} sequential requests each, page_size 50)`);
  say();
  say('| query | p50 | p99 |');
  say('|---|---:|---:|');
  for (const [name, r] of rows) say(`| ${name} | ${ms(r.p50)} | ${ms(r.p99)} |`);
}
async function migrated(url: string): Promise<void> {
  const database = openDatabase(url, { poolSize: 1 });
  try {
    await migrateToLatest(database.db, database.dialect, database.schema);
  } finally {
    await database.close();
  }
}
if (auditReads) {
  const url = `sqlite:${join(work, 'audit.db')}`;
  await migrated(url);
  const t = Date.now();
  fillSqlite(join(work, 'audit.db'), auditEvents);
  process.stdout.write(`(SQLite: ${auditEvents} audit events written in ${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
  auditTable('SQLite', await auditReadLatency(env(url), ADMIN, reps));
}

const server = hotOnly ? null : await findPostgres();
if (hotOnly) {
  // no PostgreSQL rows
} else if (!server) {
  say('\n(PostgreSQL: none found, so no PostgreSQL rows.)');
} else {
  const name = `gatehouse_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  try {
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    if (!auditOnly) await searchBench('PostgreSQL', url.toString(), quick ? [10_000] : SIZES);
    if (!auditOnly && !searchOnly && !quick) await consoleBench('PostgreSQL', url.toString(), false);
    if (consoleOnly) await consoleBench('PostgreSQL', url.toString(), true);
    const writesDb = `${name}_writes`;
    if (!consoleOnly && !searchOnly) await admin.query(`create database ${writesDb}`);
    if (!consoleOnly && !searchOnly) try {
      const writesUrl = new URL(server.url);
      writesUrl.pathname = `/${writesDb}`;
      const r = await replicaWrites({ databaseUrl: writesUrl.toString(), env, admin: ADMIN, password: PASSWORD, seconds });
      say();
      say('### Audited writes, three PostgreSQL replicas at once (each change appends to one hash chain)');
      say();
      say('| operation | per second, all replicas | of argon2id ceiling | p50 ms | p99 ms | errors |');
      say('|---|---:|---:|---:|---:|---:|');
      say(`| \`POST /users\` | ${r.creates.rps.toFixed(1)} | ${pct(r.creates.rps, hashRate)} | ${r.creates.p50} | ${r.creates.p99} | ${r.creates.errors + r.creates.non2xx} |`);
      say(`| \`POST /auth/token\` (password grant) | ${r.logins.rps.toFixed(1)} | ${pct(r.logins.rps, verifyRate)} | ${r.logins.p50} | ${r.logins.p99} | ${r.logins.errors + r.logins.non2xx} |`);
      say();
      say(`Audit chain afterwards: ${r.events} events, ${r.gaps} gaps, ${r.duplicates} duplicate sequence numbers.`);
      say();
      say('Where the two cores went (CPU ms per operation; PostgreSQL and the load generator share the machine):');
      say();
      say('| operation | argon2id workers | rest of Gatehouse | PostgreSQL | load generator | other | argon2id share |');
      say('|---|---:|---:|---:|---:|---:|---:|');
      for (const [name, c] of [['`POST /users`', r.createCpu], ['`POST /auth/token`', r.loginCpu]] as const) {
        const total = c.hashing + c.gatehouse + c.postgres + c.loadGenerator + c.other;
        say(`| ${name} | ${ms(c.hashing)} | ${ms(c.gatehouse)} | ${ms(c.postgres)} | ${ms(c.loadGenerator)} | ${ms(c.other)} | ${pct(c.hashing, total)} |`);
      }
    } finally {
      await admin.query(`drop database if exists ${writesDb} with (force)`);
    }
    const auditDb = `${name}_audit`;
    if (auditReads) await admin.query(`create database ${auditDb}`);
    if (auditReads) try {
      const auditUrl = new URL(server.url);
      auditUrl.pathname = `/${auditDb}`;
      await migrated(auditUrl.toString());
      const t = Date.now();
      await fillPostgres(auditUrl.toString(), auditEvents);
      process.stdout.write(`(PostgreSQL: ${auditEvents} audit events written in ${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
      auditTable('PostgreSQL', await auditReadLatency(env(auditUrl.toString()), ADMIN, reps));
    } finally {
      await admin.query(`drop database if exists ${auditDb} with (force)`);
    }
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    server.stop();
  }
}

consoleTable();
if (values.only === undefined) await startupSection();
rmSync(work, { recursive: true, force: true });
say();
say(`Whole run: ${((Date.now() - started) / 1000).toFixed(0)} s.`);
if (!quick) writeFileSync(join(ROOT, 'bench', auditOnly || searchOnly || hotOnly ? `RESULTS-${values.only}.md` : 'RESULTS.md'), out.join('\n') + '\n');

// ---------------------------------------------------------------- start-up
async function startupSection(): Promise<void> {
  say();
  say('### Start-up');
  say();
  say(`Time from spawning the server to its first 200 from \`GET /readyz\` on SQLite, ${quick ? 3 : 10} starts per row, each stopped with`);
  say('SIGTERM before the next. "New database": a new file every start (migrations, signing key, bootstrap key); "existing": one');
  say('database made by an unmeasured first start.');
  say();
  say(startupTable(await measureStartup(quick ? 3 : 10, (line) => process.stdout.write(`(${line})\n`))));
}
