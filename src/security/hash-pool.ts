import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PasswordHasher } from '../domain/ports.ts';
import { OWASP_ARGON2ID, type Argon2Params } from './argon2-hasher.ts';

interface Job {
  id: number;
  op: 'hash' | 'verify';
  password: string;
  phc?: string;
  resolve(result: string | boolean | null): void;
}

/**
 * argon2id on a pool of worker threads (one per core) running at a lower CPU priority (nice 10). Hashing on
 * libuv's pool would also keep the event loop free, but its threads compete with the event loop for the same cores
 * at equal priority: under a burst of logins, a cheap permission check then waits for a core. Niced workers give
 * way to the event loop at once and take every idle cycle otherwise, so hashing throughput is unchanged.
 * Workers are unreferenced while idle, so a pool never keeps a process alive by itself.
 */
export function createHashPool(params: Argon2Params = OWASP_ARGON2ID, size = availableParallelism(), nice = 10) {
  const options = { algorithm: 2 /* Argon2id */, ...params };
  const url = new URL('./hash-worker.mjs', import.meta.url);
  const idle: Worker[] = [];
  const busy = new Map<Worker, Job>();
  const queue: Job[] = [];
  let nextId = 0;

  function dispatch(): void {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop()!;
      const job = queue.shift()!;
      busy.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, op: job.op, password: job.password, phc: job.phc, options });
    }
  }

  for (let i = 0; i < Math.max(1, size); i++) {
    const worker = new Worker(url, { workerData: { nice } });
    worker.unref();
    worker.on('message', ({ result }: { result: string | boolean | null }) => {
      const job = busy.get(worker);
      busy.delete(worker);
      worker.unref();
      idle.push(worker);
      job?.resolve(result);
      dispatch();
    });
    idle.push(worker);
  }

  function run(op: 'hash' | 'verify', password: string, phc?: string): Promise<string | boolean | null> {
    return new Promise((resolve) => {
      queue.push({ id: nextId++, op, password, phc, resolve });
      dispatch();
    });
  }

  const hasher: PasswordHasher & { close(): Promise<void> } = {
    async hash(password) {
      const result = await run('hash', password);
      if (typeof result !== 'string') throw new Error('password hashing failed');
      return result;
    },
    async verify(phc, password) {
      return (await run('verify', password, phc)) === true;
    },
    async close() {
      await Promise.all([...idle, ...busy.keys()].map((w) => w.terminate()));
    },
  };
  return hasher;
}
