#!/usr/bin/env node
// Builds the admin console (console/ → console/dist) with Vite when the build is missing or older than its
// sources; `--force` always builds. `npm start` runs this first, so a fresh clone serves the console after
// `npm ci && npm start`. Without Vite installed (npm ci --omit=dev), it says so and the server answers /console/
// with 503 until the console is built.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../console/', import.meta.url));
const built = join(root, 'dist', 'index.html');

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => join(root, p)).filter((p) => existsSync(p));
const fresh = existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest));
if (fresh && !process.argv.includes('--force')) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  process.stderr.write('Gatehouse: the console is not built and Vite is not installed (npm ci without --omit=dev installs it); /console/ will answer 503.\n');
  process.exit(0);
}
const started = Date.now();
await vite.build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
process.stderr.write(`Gatehouse: console built in ${((Date.now() - started) / 1000).toFixed(1)} s (console/dist)\n`);
