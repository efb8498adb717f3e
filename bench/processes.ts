import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Process plumbing for the benchmark: free ports, servers started as real processes, RSS readings. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Running {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

async function waitFor(url: string, child: ChildProcess, stderr: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${stderr().slice(-2000)}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready: ${stderr().slice(-2000)}`);
}

function start(command: string, args: string[], env: Record<string, string>, readyPath: string, port: number): Promise<Running> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const running: Running = {
    url,
    child,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
  return waitFor(url + readyPath, child, running.stderr).then(() => running);
}

/** A bare Node `http` server answering `{}`: the ceiling for any Node service on this machine. */
export async function startBareServer(): Promise<Running> {
  const port = await freePort();
  const code = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'application/json' }); s.end('{}'); }).listen(${port}, '127.0.0.1')`;
  return start(process.execPath, ['-e', code], {}, '/', port);
}

/**
 * Gatehouse itself from its sources (tsx src/main.ts; tsx compiles each module once at load, so what runs under load
 * is the same JavaScript as the compiled build's), on the given environment. `nodeFlags` (a CPU profile, say) start it
 * as `node <flags> --import tsx src/main.ts` instead, one process whose flags apply to the server.
 */
export async function startGatehouse(env: Record<string, string>, nodeFlags?: string[]): Promise<Running> {
  const port = await freePort();
  const serverEnv = { ...env, PORT: String(port), HOST: '127.0.0.1' };
  if (nodeFlags) return start(process.execPath, [...nodeFlags, '--import', 'tsx', 'src/main.ts'], serverEnv, '/readyz', port);
  const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
  return start(tsx, ['src/main.ts'], serverEnv, '/readyz', port);
}

/** Resident set size of a process in bytes (Linux /proc), or null. tsx runs the server as its child: read that. */
export function rssOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const status = (p: number) => readFileSync(`/proc/${p}/status`, 'utf8');
  try {
    let target = pid;
    // tsx spawns node as a child; the server is the deepest node process under the one we started.
    for (let depth = 0; depth < 3; depth++) {
      const children = readFileSync(`/proc/${target}/task/${target}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (children.length === 0) break;
      target = Number(children[0]);
    }
    const match = /VmRSS:\s+(\d+) kB/.exec(status(target));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system, in µs) used so far by a process and its descendants (tsx runs the server as its child),
 * from Linux /proc; 0 where there is no /proc. Work per request read this way barely moves when other processes
 * share the cores, unlike requests per second.
 */
export function cpuMicrosOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = 0;
  const visit = (p: number, depth: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * 10_000; // utime + stime, in ticks of 10 ms (USER_HZ 100)
      if (depth < 3) for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(c), depth + 1);
    } catch {
      // no /proc, or the process ended meanwhile
    }
  };
  visit(pid, 0);
  return total;
}

export function runTsx(script: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} failed (${code}): ${out.slice(-2000)}`))));
  });
}
