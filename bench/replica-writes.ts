import pg from 'pg';
import { load, type LoadResult } from './load.ts';
import { startGatehouse, type Running } from './processes.ts';
import { cpuPerOperation, cpuTicks, type CpuShare } from './cpu-accounting.ts';

/**
 * Audited writes on three PostgreSQL replicas at once: creates and logins spread over three Gatehouse processes on
 * one database, every one of them appending to the same hash chain (under the head-row lock). The rates are
 * compared with the raw argon2id ceiling of this machine, and the chain is checked to be whole afterwards.
 */
export interface ReplicaWriteResult {
  creates: LoadResult;
  logins: LoadResult;
  /** CPU milliseconds per create and per login, by where they went. */
  createCpu: CpuShare;
  loginCpu: CpuShare;
  events: number;
  gaps: number;
  duplicates: number;
}

const sum = (rs: LoadResult[]): LoadResult => ({
  rps: rs.reduce((a, r) => a + r.rps, 0),
  p50: Math.max(...rs.map((r) => r.p50)),
  p99: Math.max(...rs.map((r) => r.p99)),
  errors: rs.reduce((a, r) => a + r.errors, 0),
  non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
});

export async function replicaWrites(opts: {
  databaseUrl: string;
  env: (url: string) => Record<string, string>;
  admin: Record<string, string>;
  password: string;
  seconds: number;
}): Promise<ReplicaWriteResult> {
  const replicas: Running[] = [];
  try {
    // Started one after the other: the first migrates, the others find the schema ready.
    for (let i = 0; i < 3; i++) replicas.push(await startGatehouse(opts.env(opts.databaseUrl)));
    const headers = { ...opts.admin, 'content-type': 'application/json' };
    const loginEmail = 'replica.login@example.com';
    const made = await fetch(replicas[0]!.url + '/users', {
      method: 'POST',
      headers,
      body: JSON.stringify({ email: loginEmail, password: opts.password, temporary: false, roles: ['CHAT-USER'], firstName: 'R', lastName: 'L' }),
    });
    if (!made.ok) throw new Error(`create login user: ${made.status}`);
    const createBody = JSON.stringify({ email: 'replica.{unique}@example.com', password: opts.password, temporary: true, roles: ['CHAT-USER'], firstName: 'R', lastName: 'C' });
    const pids = replicas.map((r) => r.child.pid!);
    // Each measured run is timed together with its CPU readings; the `seconds` of load give the operation count.
    // Each run is preceded by a few unmeasured seconds of the same load: three fresh processes otherwise spend the
    // measured window compiling (tsx, the JIT) and filling their pools.
    const measured = async (run: (seconds: number) => Promise<LoadResult[]>) => {
      await run(Math.min(3, opts.seconds));
      const before = cpuTicks(pids);
      const result = sum(await run(opts.seconds));
      return { result, cpu: cpuPerOperation(before, cpuTicks(pids), result.rps * opts.seconds) };
    };
    const creates = await measured((seconds) =>
      Promise.all(replicas.map((r) => load({ url: r.url + '/users', connections: 3, seconds, method: 'POST', headers, uniqueBody: createBody }))),
    );
    const loginBody = JSON.stringify({ grant_type: 'password', username: loginEmail, password: opts.password });
    const logins = await measured((seconds) =>
      Promise.all(
        replicas.map((r) => load({ url: r.url + '/auth/token', connections: 3, seconds, method: 'POST', headers: { 'content-type': 'application/json' }, body: loginBody })),
      ),
    );
    const client = new pg.Client({ connectionString: opts.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`select count(*)::int as events, (max(seq) - min(seq) + 1 - count(*))::int as gaps,
        (count(*) - count(distinct seq))::int as duplicates from audit_events`);
      return { creates: creates.result, logins: logins.result, createCpu: creates.cpu, loginCpu: logins.cpu, ...rows[0] };
    } finally {
      await client.end();
    }
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
  }
}
