import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

// Real server processes for end-to-end tests: each is `npm start` (as the README runs it) in its own process group,
// so cleanup can reach the npm/node chain it starts (npm runs the build step, then `node dist/main.js`), and nothing
// outlives the test that started it.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  /** A label for messages ("A", "B", ...). */
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The last `lines` lines of stdout and stderr, for failure messages. */
  logTail(lines?: number): string;
  /** Resolves when the process (npm, the head of the group) exits. */
  exited: Promise<ExitStatus>;
  /** Null while the process runs, its exit status once it has exited. */
  exitStatus(): ExitStatus | null;
  /** SIGTERM to the group, then SIGKILL to whatever is left after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
  /** The environment given to `spawnServer` (without PORT): `restartServer` starts the same server again with it. */
  env: Record<string, string>;
  /** True while any process of the group (npm, its build step, node) is alive. */
  alive(): boolean;
  /** Sends `signal` to the whole process group (default), or only to its head, the `npm` process. */
  signal(signal: NodeJS.Signals, scope?: 'group' | 'head'): void;
  /** A crash: SIGKILL to the whole group, so no handler runs; resolves once every process in it is gone. */
  kill(timeoutMs?: number): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Distinct free ports (asking the OS several times in a row could hand the same one back). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** Spawns one `npm start` with exactly `env` on top of this process's environment minus Gatehouse's own settings. */
export function spawnServer(name: string, port: number, env: Record<string, string>): ServerProcess {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(base)) {
    if (key.startsWith('GATEHOUSE_') || ['PORT', 'HOST', 'DATABASE_URL', 'NODE_TEST_CONTEXT'].includes(key)) delete base[key];
  }
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...base, HOST: '127.0.0.1', ...env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let status: ExitStatus | null = null;
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    }),
  );
  const pid = child.pid!;
  let stopping: Promise<void> | undefined;
  return {
    name,
    port,
    base: `http://127.0.0.1:${port}`,
    child,
    stdout: () => out,
    stderr: () => err,
    logTail: (lines = 15) => {
      const tail = (text: string) => text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
      return `--- ${name} stdout (tail) ---\n${tail(out)}\n--- ${name} stderr (tail) ---\n${tail(err)}`;
    },
    exited,
    exitStatus: () => status,
    env,
    alive: () => groupAlive(pid),
    signal: (signal, scope = 'group') => {
      if (scope === 'group') signalGroup(pid, signal);
      else if (status === null) child.kill(signal);
    },
    kill: async (timeoutMs = 10_000) => {
      signalGroup(pid, 'SIGKILL');
      const deadline = Date.now() + timeoutMs;
      while (groupAlive(pid) || status === null) {
        if (Date.now() > deadline) throw new Error(`server ${name} (process group ${pid}) still alive ${timeoutMs} ms after SIGKILL`);
        await sleep(20);
      }
    },
    stop: (graceMs = 5_000) =>
      (stopping ??= (async () => {
        if (!groupAlive(pid)) return; // already gone (killed, or exited by itself): its group id may be reused
        signalGroup(pid, 'SIGTERM');
        const deadline = Date.now() + graceMs;
        while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
        signalGroup(pid, 'SIGKILL');
        while (groupAlive(pid) && Date.now() < deadline + 5_000) await sleep(50);
      })()),
  };
}

/** Polls `GET /readyz` until it answers 200; fails early, with the process's output, if the process exits. */
export async function waitUntilReady(server: ServerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = server.exitStatus();
    if (status) throw new Error(`server ${server.name} exited before it was ready (${JSON.stringify(status)})\n${server.logTail(30)}`);
    try {
      const res = await fetch(`${server.base}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server ${server.name} not ready on port ${server.port} within ${timeoutMs} ms\n${server.logTail(30)}`);
}

export interface StartOptions {
  /** Labels, one per server; default "A", "B", "C", ... */
  names?: string[];
  readyTimeoutMs?: number;
  /** Runs after every server has stopped (drop the schema, stop the cluster), also when starting failed. */
  afterStop?: () => unknown;
}

/**
 * Starts one server per entry of `envs` at the same moment (each on its own free port), waits until every one
 * answers `/readyz` with 200, and registers cleanup on `t` that stops them all, whatever happened.
 */
export async function startServers(t: TestContext, envs: Record<string, string>[], opts: StartOptions = {}): Promise<ServerProcess[]> {
  const ports = await freePorts(envs.length);
  const servers = envs.map((env, i) => spawnServer(opts.names?.[i] ?? String.fromCharCode(65 + i), ports[i]!, env));
  t.after(async () => {
    try {
      await stopServers(servers);
    } finally {
      await opts.afterStop?.();
    }
  });
  await Promise.all(servers.map((s) => waitUntilReady(s, opts.readyTimeoutMs ?? 90_000)));
  return servers;
}

/**
 * Starts `server` again after it died (a crash test's restart): the same name, port and environment, a new
 * process group. Waits until it answers `/readyz` with 200 and registers its cleanup on `t`, like `startServers`.
 */
export async function restartServer(t: TestContext, server: ServerProcess, opts: { readyTimeoutMs?: number } = {}): Promise<ServerProcess> {
  if (server.alive()) throw new Error(`server ${server.name} is still running: kill or stop it before restarting it`);
  const again = spawnServer(server.name, server.port, server.env);
  t.after(() => again.stop());
  await waitUntilReady(again, opts.readyTimeoutMs ?? 90_000);
  return again;
}

export async function stopServers(servers: ServerProcess[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}
