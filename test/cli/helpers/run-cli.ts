import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// `gatehouse …` as an operator runs it: the real command in its own process, with only the environment a test gives
// it. The TypeScript entry point runs through tsx, so the tests need no build; test/e2e/compiled-build.test.ts runs
// bin/gatehouse.js, which runs the compiled dist/cli.js.

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** This process's environment without Gatehouse's own settings, so nothing of the test runner's leaks in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_') && !['DATABASE_URL', 'PORT', 'HOST', 'NODE_TEST_CONTEXT'].includes(k)),
  );
  return { ...env, ...extra };
}

function start(args: string[], env: NodeJS.ProcessEnv, detached = false): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env, detached, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs `gatehouse <args>` to its end; `input` is written to its standard input (a piped password). */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = start(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : 1), stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/** A `runCli` bound to one environment. */
export const cliFor =
  (env: NodeJS.ProcessEnv) =>
  (...args: string[]): Promise<Run> =>
    runCli(args, env);

/** Exit 0, nothing on stderr, and the one JSON document on stdout. */
export function okJson(run: Run): any {
  assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
  assert.equal(run.stderr, '');
  return JSON.parse(run.stdout);
}

/**
 * A failure the operator can act on: exit `code`, nothing on stdout, a first line `gatehouse: …` matching `message`,
 * and never a stack trace. Returns the lines of stderr (a usage error adds the command's usage after the first).
 */
export function failed(run: Run, code: number, message: RegExp): string[] {
  assert.equal(run.code, code, `expected exit ${code}, got ${run.code}: ${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.doesNotMatch(run.stderr, /^\s+at |\.ts:\d+|Error:/m, 'no stack trace');
  const lines = run.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^gatehouse: /);
  assert.match(lines[0]!, message);
  return lines;
}

export interface CliServer {
  base: string;
  output(): string;
  /** SIGTERM to its process group; resolves once it has exited. */
  stop(): Promise<void>;
}

/** `gatehouse serve <args>` in its own process group, ready once GET /readyz on `port` answers 200. */
export async function serveCli(args: string[], env: NodeJS.ProcessEnv, port: number, timeoutMs = 60_000): Promise<CliServer> {
  const child = start(['serve', ...args], env, true);
  child.stdin!.end();
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  const done = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await done;
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`gatehouse serve exited before it was ready:\n${output}`);
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return { base, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`gatehouse serve not ready on port ${port} within ${timeoutMs} ms:\n${output}`);
}
