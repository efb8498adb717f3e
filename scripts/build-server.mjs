#!/usr/bin/env node
// Compiles the server (src/ → dist/) with tsc (tsconfig.build.json) when dist/ is missing or was built from other
// sources; `--force` always builds. `npm start` runs this first (after the console's build), and bin/gatehouse.js
// calls `ensureServerBuilt` before it loads the compiled CLI, so both always run what src/ says.
//
// "Other sources" means a different SHA-256 over src/ and the two tsconfig files (and this script), not newer
// mtimes: a copied or re-checked-out tree whose sources did not change needs no compiler, which is what lets
// `npm ci --omit=dev && npm start` run a build made earlier without TypeScript installed.
//
// A syntax error (or tsc failing outright) fails the build and leaves the previous dist/ in place; type errors do not
// (see `compile`). Several processes may start at once (tests, replicas): one builds, under a lock directory, into a staging
// directory that then replaces dist/ with two renames, so no process ever loads half a build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
const SRC = join(ROOT, 'src');
const STAMP = '.sources.sha256';
const LOCK = join(ROOT, 'dist.lock');
const STALE_LOCK_MS = 5 * 60_000;

function files(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []))
    .sort();
}

/** SHA-256 over every file that decides what dist/ holds: names and contents. */
export function sourcesDigest() {
  const hash = createHash('sha256');
  const inputs = [...files(SRC), join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json'), fileURLToPath(import.meta.url)];
  for (const path of inputs) hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path)).update('\0');
  return hash.digest('hex');
}

function builtDigest(dir = DIST) {
  try {
    return readFileSync(join(dir, STAMP), 'utf8').trim();
  } catch {
    return null;
  }
}

const upToDate = () => builtDigest() === sourcesDigest();

/** tsc's entry point, or null without TypeScript (npm ci --omit=dev). */
function findTsc() {
  try {
    const manifest = createRequire(import.meta.url).resolve('typescript/package.json');
    return join(dirname(manifest), JSON.parse(readFileSync(manifest, 'utf8')).bin.tsc);
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** True while the process that took the lock runs; a builder killed half-way (SIGKILL) leaves its lock behind. */
function lockHolderAlive() {
  let pid;
  try {
    pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch {
    // just taken (no pid written yet) or just released: only its age can tell
    try {
      return Date.now() - statSync(LOCK).mtimeMs < STALE_LOCK_MS;
    } catch {
      return false;
    }
  }
  return alive(pid);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

async function withLock(fn) {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (!lockHolderAlive()) rmSync(LOCK, { recursive: true, force: true });
      else await sleep(100);
    }
  }
  try {
    // What a killed builder left half-done goes (by pid: never the directory of a builder still running).
    for (const name of readdirSync(ROOT)) {
      const pid = /^dist\.(?:staging|old)-(\d+)$/.exec(name)?.[1];
      if (pid && !alive(Number(pid))) rmSync(join(ROOT, name), { recursive: true, force: true });
    }
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function compile(tsc, digest) {
  const staging = join(ROOT, `dist.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const run = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', staging], { cwd: ROOT, encoding: 'utf8' });
  const lines = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').filter((l) => l !== '');
  // tsc writes its JavaScript even when it reports errors (exit 2). Type errors (TS2xxx and up) cannot change that
  // JavaScript — with verbatimModuleSyntax the output never depends on types — so they are left to `npm run
  // typecheck` (npm test and CI run it first), as when tsx ran the sources. Syntax and grammar errors (TS1xxx) make
  // broken or different JavaScript, and any other failure means nothing usable was written: those fail the build.
  const errors = lines.filter((l) => /error TS\d+/.test(l));
  const syntax = errors.filter((l) => /error TS1\d{3}:/.test(l));
  if ((run.status !== 0 && run.status !== 2) || syntax.length > 0) {
    rmSync(staging, { recursive: true, force: true });
    const shown = (syntax.length > 0 ? syntax : lines).slice(0, 40);
    throw new Error(`tsc could not compile the server (tsconfig.build.json)${shown.length > 0 ? `:\n${shown.join('\n')}` : ''}`);
  }
  const typeErrors = errors.length;
  // Files the compiled code loads beside itself (the hash worker, any future template or JSON): copied as they are.
  for (const path of files(SRC).filter((p) => !p.endsWith('.ts'))) cpSync(path, join(staging, relative(SRC, path)));
  writeFileSync(join(staging, STAMP), `${digest}\n`);
  const old = join(ROOT, `dist.old-${process.pid}`);
  if (existsSync(DIST)) renameSync(DIST, old);
  renameSync(staging, DIST);
  rmSync(old, { recursive: true, force: true });
  return typeErrors;
}

/**
 * Makes dist/ match src/. Returns 'fresh' (nothing to do), 'built', or 'stale' (dist/ is from other sources and
 * TypeScript is not installed: it is used as it is, with a warning). Throws with a one-line reason when there is no
 * build and no compiler, or when tsc fails.
 */
export async function ensureServerBuilt({ force = false, log = (line) => process.stderr.write(line) } = {}) {
  if (!force && upToDate()) return 'fresh';
  const tsc = findTsc();
  if (!tsc) {
    if (!existsSync(join(DIST, 'main.js'))) {
      throw new Error('the server is not built (no dist/) and TypeScript is not installed: build it where dev dependencies are installed (npm ci && npm run build), then npm ci --omit=dev');
    }
    log('Gatehouse: dist/ was built from other sources than src/ and TypeScript is not installed (npm ci --omit=dev); running dist/ as it is\n');
    return 'stale';
  }
  return withLock(() => {
    const digest = sourcesDigest();
    if (!force && builtDigest() === digest) return 'fresh'; // another process built it while this one waited
    const started = Date.now();
    const typeErrors = compile(tsc, digest);
    // Said only to a person at a terminal: in a pipe (tests, CI, a service manager) stdout and stderr belong to the server.
    if (process.stderr.isTTY) {
      const note = typeErrors > 0 ? `; tsc reported ${typeErrors} type error${typeErrors === 1 ? '' : 's'} (npm run typecheck lists them)` : '';
      log(`Gatehouse: server compiled in ${((Date.now() - started) / 1000).toFixed(1)} s (src → dist)${note}\n`);
    }
    return 'built';
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await ensureServerBuilt({ force: process.argv.includes('--force') });
  } catch (err) {
    process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
