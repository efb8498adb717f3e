#!/usr/bin/env node
// `npm test`: every test/**/*.test.ts through node's test runner and tsx, then the suites that drive the HTTP API
// (test/http, test/oidc, test/scim, test/import, test/export, test/security, test/fuzz) a second time on PostgreSQL. Node 20's --test cannot expand globs itself (and sh's `**` does not recurse), so files are
// gathered here. PostgreSQL is found once (scripts/find-postgres.mjs) and handed to every test process in
// TEST_DATABASE_URL. With file arguments, runs just those files, once, on the dialect in GATEHOUSE_TEST_DIALECT.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findPostgres } from './find-postgres.mjs';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'helpers' ? [] : find(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Runs node --test on `files`, echoing its output, and returns its exit code and the pass/fail counts it printed. */
function run(label, files, env, flags) {
  process.stdout.write(`\n### ${label}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-2000);
    });
    child.on('close', (code) => {
      const count = (name) => Number(new RegExp(`^# ${name} (\\d+)`, 'm').exec(tail)?.[1] ?? 0);
      resolve({ code: code ?? 1, pass: count('pass'), fail: count('fail') });
    });
  });
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('-'));
const named = args.filter((a) => !a.startsWith('-'));

const pg = await findPostgres();
if (pg) process.stdout.write(`PostgreSQL for tests: ${pg.source}\n`);
else process.stderr.write('\n!!! NO POSTGRESQL FOUND: the PostgreSQL suites will be skipped\n\n');
const pgEnv = pg ? { TEST_DATABASE_URL: pg.url } : {};

const results = [];
try {
  if (named.length > 0) {
    results.push(await run(`selected files (${process.env.GATEHOUSE_TEST_DIALECT ?? 'sqlite'})`, named, pgEnv, flags));
  } else {
    const all = find('test').sort();
    results.push(await run('all suites, HTTP on SQLite', all, { ...pgEnv, GATEHOUSE_TEST_DIALECT: 'sqlite' }, flags));
    if (pg) {
      const again = ['http', 'oidc', 'scim', 'import', 'export', 'security', 'fuzz'].map((d) => join('test', d));
      const http = all.filter((f) => again.some((d) => f.startsWith(d)));
      results.push(await run('HTTP, security and fuzz suites on PostgreSQL', http, { ...pgEnv, GATEHOUSE_TEST_DIALECT: 'postgres' }, flags));
    }
  }
} finally {
  pg?.stop();
}

const pass = results.reduce((n, r) => n + r.pass, 0);
const fail = results.reduce((n, r) => n + r.fail, 0);
const failedRun = results.some((r) => r.code !== 0);
process.stdout.write(`\n${pass} passed, ${fail} failed\n`);
process.exit(failedRun || fail > 0 ? 1 : 0);
