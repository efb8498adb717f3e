#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner through tsx. Node 20's --test cannot expand globs
// itself, and sh's `**` does not recurse, so the file list is gathered here. Extra arguments pass through.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'helpers' ? [] : find(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const files = args.some((a) => !a.startsWith('-')) ? [] : find('test').sort();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...args, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
