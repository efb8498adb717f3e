#!/usr/bin/env node
// The `gatehouse` command: the compiled CLI (dist/cli.js). It compiles src/ first when dist/ is missing or was built
// from other sources (scripts/build-server.mjs, as `npm start` does), so it always runs what src/ says; after
// `npm ci --omit=dev` (no TypeScript) it runs the build that is there, or says in one line how to make one.
import { ensureServerBuilt } from '../scripts/build-server.mjs';

try {
  await ensureServerBuilt();
} catch (err) {
  process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
await import('../dist/cli.js');
