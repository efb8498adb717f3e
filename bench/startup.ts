// Start-up time: from spawning the server to the first 200 from GET /readyz, N times per way of starting it.
//   npx tsx bench/startup.ts [--runs N] [--json]
// Ways: the compiled server (node dist/main.js) on a new SQLite database (migrations, signing key, bootstrap key)
// and on one already in use; `npm start` as the README runs it (npm, the up-to-date checks of the console and the
// server, then node dist/main.js); and the TypeScript sources through tsx, the way `npm start` ran before the
// compiled build, for comparison. The compiled build is brought up to date first (scripts/build-server.mjs).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT } from './processes.ts';

export interface StartupRow {
  way: string;
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
}

interface Way {
  way: string;
  command: string;
  args: string[];
  /** A fresh database for every run, or one database (made by an unmeasured first start) for all of them. */
  database: 'fresh' | 'existing';
}

const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
export const WAYS: Way[] = [
  { way: 'compiled (node dist/main.js), new database', command: process.execPath, args: ['dist/main.js'], database: 'fresh' },
  { way: 'compiled (node dist/main.js), existing database', command: process.execPath, args: ['dist/main.js'], database: 'existing' },
  { way: '`npm start` (up-to-date checks + compiled), existing database', command: 'npm', args: ['start', '--silent'], database: 'existing' },
  { way: 'tsx src/main.ts (before), new database', command: TSX, args: ['src/main.ts'], database: 'fresh' },
  { way: 'tsx src/main.ts (before), existing database', command: TSX, args: ['src/main.ts'], database: 'existing' },
];

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/** One start: milliseconds from spawn to the first 200 from /readyz; then SIGTERM to its process group. */
async function startOnce(way: Way, databaseUrl: string): Promise<number> {
  const port = await freePort();
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('GATEHOUSE_') || ['PORT', 'HOST', 'DATABASE_URL', 'NODE_OPTIONS'].includes(name)) delete env[name];
  const started = performance.now();
  const child = spawn(way.command, way.args, {
    cwd: ROOT,
    env: { ...env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_LOG_LEVEL: 'warn' },
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${way.way}: exited before it was ready: ${stderr}`);
      if (performance.now() - started > 120_000) throw new Error(`${way.way}: not ready within 120 s: ${stderr}`);
      if (await ready(port)) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await exited;
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

export async function measureStartup(runs: number, log: (line: string) => void = () => {}): Promise<StartupRow[]> {
  execFileSync(process.execPath, ['scripts/build-server.mjs'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-console.mjs'], { cwd: ROOT, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-startup-'));
  try {
    const rows: StartupRow[] = [];
    for (const [i, way] of WAYS.entries()) {
      const existing = `sqlite:${join(dir, `existing-${i}.db`)}`;
      if (way.database === 'existing') await startOnce(way, existing); // makes it: migrations, keys, bootstrap
      const times: number[] = [];
      for (let run = 0; run < runs; run++) {
        times.push(await startOnce(way, way.database === 'existing' ? existing : `sqlite:${join(dir, `fresh-${i}-${run}.db`)}`));
      }
      times.sort((a, b) => a - b);
      const row = { way: way.way, runs, medianMs: quantile(times, 0.5), p90Ms: quantile(times, 0.9), minMs: times[0]! };
      log(`${row.way}: median ${row.medianMs.toFixed(0)} ms, p90 ${row.p90Ms.toFixed(0)} ms`);
      rows.push(row);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function startupTable(rows: StartupRow[]): string {
  const lines = ['| start | runs | median ms | p90 ms | min ms |', '|---|---:|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.way} | ${r.runs} | ${r.medianMs.toFixed(0)} | ${r.p90Ms.toFixed(0)} | ${r.minMs.toFixed(0)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 10;
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('bench/startup.ts: --runs takes a whole number of at least 1\n');
    process.exit(2);
  }
  const rows = await measureStartup(runs, (line) => process.stderr.write(line + '\n'));
  process.stdout.write((process.argv.includes('--json') ? JSON.stringify(rows, null, 2) : startupTable(rows)) + '\n');
}
