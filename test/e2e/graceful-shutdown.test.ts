import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { GOOD_PASSWORD } from '../helpers/app.ts';
import { startServers, type ServerProcess } from '../helpers/server-process.ts';

// Graceful shutdown (src/server.ts): on SIGTERM the server stops accepting, finishes the requests in flight, closes
// the database and exits 0. A real `npm start` on a SQLite file gets a burst of slow requests (creates: each hashes
// a password with argon2id) plus searches, from a keep-alive client as every HTTP client and load balancer is; once
// the server has received every one of them, and while most are still being worked on, it gets SIGTERM. Every
// request must get its complete 2xx answer, new connections must be refused, the process must exit 0 within
// `docker stop`'s grace period, and the database must be closed cleanly (WAL checkpointed, integrity ok, every
// acknowledged user stored).
//
// `npm start` is a chain of processes (npm, then node running the compiled server), and who receives SIGTERM depends on who sends it, so
// each way is its own test: the server process alone (a supervisor running node directly), the head of the chain
// alone (`docker stop` signals PID 1), and the whole process group (systemd's default, Ctrl-C in a terminal, and
// this suite's own cleanup).

const ADMIN_KEY = 'e2e-shutdown-admin-key-0123456789abcdefghijk';
// Enough creates (each an argon2id hash, a few at a time) that most are still being hashed when the test has seen the
// server log every request and signals, even on a busy machine.
const CREATES = 40;
const SEARCHES = 10;
/** `docker stop` waits 10 s before its SIGKILL (Kubernetes 30 s): a graceful exit must come well within that. */
const EXIT_WITHIN_MS = 10_000;

interface Answer {
  label: string;
  requestId: string;
  status: number | null;
  body: any;
  text: string;
  error: string | null;
  doneAt: number;
}

/**
 * One request through `agent`, a keep-alive agent like any HTTP client's or load balancer's: its connections stay
 * open between requests. Resolves (never rejects) once the whole answer is in, or with the error that cut it short.
 */
function call(agent: Agent, port: number, label: string, requestId: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve) => {
    const answer: Answer = { label, requestId, status: null, body: undefined, text: '', error: null, doneAt: 0 };
    let settled = false;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      answer.error = error;
      answer.doneAt = Date.now();
      resolve(answer);
    };
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        timeout: 30_000,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'x-request-id': requestId,
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        answer.status = res.statusCode ?? null;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (answer.text += chunk));
        res.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
        res.on('close', () => {
          if (!res.complete) return finish('the answer was cut off');
          try {
            answer.body = JSON.parse(answer.text);
            finish(null);
          } catch {
            finish('the answer is not JSON');
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    req.end(payload);
  });
}

/** What a new TCP connection to the port meets: a listener, or a refusal. */
function tryConnect(port: number): Promise<'accepted' | 'refused' | string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? err.message)));
  });
}

/** The pid of the node process serving HTTP, from its own log lines (pino writes it on every line). */
function serverPid(server: ServerProcess): number {
  for (const line of server.stdout().split('\n')) {
    const pid = /^\{.*"pid":(\d+)/.exec(line)?.[1];
    if (pid) return Number(pid);
  }
  assert.fail(`no log line with a pid from server ${server.name}\n${server.logTail(20)}`);
}

async function until<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>, server: ServerProcess): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms\n${server.logTail(20)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const WAYS = [
  { scope: 'server', to: 'the server process (node) alone' },
  { scope: 'head', to: 'npm, the head of `npm start` (as `docker stop` signals PID 1)' },
  { scope: 'group', to: 'the whole process group (as systemd and a terminal do)' },
] as const;

for (const { scope, to } of WAYS) {
  test(`SIGTERM to ${to}: every request in flight completes, the process exits 0, the database is closed cleanly`, { timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-shutdown-'));
    const path = join(dir, 'gatehouse.db');
    const env = {
      DATABASE_URL: `sqlite:${path}`,
      GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
      GATEHOUSE_AUTH_RATE_LIMIT: '0',
      // "incoming request" lines (info) tell the test when the server has received each request.
      GATEHOUSE_LOG_LEVEL: 'info',
    };
    const [server] = (await startServers(t, [env], { names: ['term'], afterStop: () => rmSync(dir, { recursive: true, force: true }) })) as [ServerProcess];
    const agent = new Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    const tag = randomBytes(3).toString('hex');
    const create = (label: string, id: string, email: string, lastName: string) =>
      call(agent, server.port, label, id, 'POST', '/users', { email, password: GOOD_PASSWORD, temporary: false, roles: ['CHAT-USER', 'TASK-ADMIN'], firstName: 'Term', lastName });

    // Warm up (the first hash, the first search) so the burst measures shutdown, not start-up.
    const warm = await create('warm-up create', `warm-${tag}`, `warm.${tag}@example.com`, 'Warm');
    assert.equal(warm.status, 200, `warm-up create: ${warm.status} ${warm.text} ${warm.error ?? ''}`);
    const pid = serverPid(server);

    const emails = Array.from({ length: CREATES }, (_, i) => `term.${tag}.${i}@example.com`);
    const ids = [...emails.map((_, i) => `term-${tag}-create-${i}`), ...Array.from({ length: SEARCHES }, (_, i) => `term-${tag}-search-${i}`)];
    const started = Date.now();
    const requests = [
      ...emails.map((email, i) => create(`create ${email}`, ids[i]!, email, `Inflight${i}`)),
      ...Array.from({ length: SEARCHES }, (_, i) =>
        call(agent, server.port, `search #${i}`, ids[CREATES + i]!, 'GET', `/users?search_string=${encodeURIComponent(`term.${tag}`)}&page_size=50`),
      ),
    ];
    let done = 0;
    const answers = Promise.all(requests.map((r) => r.finally(() => void done++)));

    // In flight means: the server has it. Wait until it has logged every request id, then signal at once.
    await until('the server received every request of the burst', 15_000, () => (ids.every((id) => server.stdout().includes(`"reqId":"${id}"`)) ? true : undefined), server);
    const pendingAtSignal = requests.length - done;
    if (scope === 'server') process.kill(pid, 'SIGTERM');
    else server.signal('SIGTERM', scope);
    const signalledAt = Date.now();

    // Meanwhile new connections must be refused: the listener closes at once, before the work in hand is done.
    const refusal = until(
      'a new connection is refused after SIGTERM',
      EXIT_WITHIN_MS,
      async () => ((await tryConnect(server.port)) === 'refused' ? { at: Date.now(), pending: requests.length - done } : undefined),
      server,
    ).catch((err: Error) => err); // looked at below, after the answers
    const results = await answers;
    const lastAnswerAt = Math.max(...results.map((r) => r.doneAt));
    const exitedInTime = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), Math.max(0, signalledAt + EXIT_WITHIN_MS - Date.now())))]);
    const exitedInMs = exitedInTime ? Date.now() - signalledAt : null;
    // Still running: see whether it is the clients' idle keep-alive connections that hold it, by closing them.
    let closedConnectionsAt: number | null = null;
    if (!exitedInTime) {
      closedConnectionsAt = Date.now();
      agent.destroy();
    }
    const status = exitedInTime ?? (await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), EXIT_WITHIN_MS))]));
    const refused = await refusal;
    t.diagnostic(
      `burst sent ${signalledAt - started} ms before SIGTERM to ${scope} (pid ${scope === 'server' ? pid : server.child.pid}); ` +
        `${pendingAtSignal} of ${requests.length} requests in flight at the signal; last answer ${lastAnswerAt - signalledAt} ms after it; ` +
        (refused instanceof Error ? 'no refused connection; ' : `first refused connection ${refused.at - signalledAt} ms after it (${refused.pending} requests still in flight then); `) +
        (exitedInMs !== null
          ? `exit ${JSON.stringify(status)} ${exitedInMs} ms after SIGTERM`
          : `still running ${EXIT_WITHIN_MS} ms after SIGTERM with the client's idle keep-alive connections open; ` +
            (status ? `exit ${JSON.stringify(status)} ${Date.now() - closedConnectionsAt!} ms after the client closed them` : 'still running after the client closed them')),
    );

    await t.test('the server had received every request, and most were still in flight, when SIGTERM came', () => {
      assert.ok(pendingAtSignal >= CREATES / 2, `${pendingAtSignal} of ${requests.length} in flight at the signal (else this proves little)`);
    });

    await t.test('every request in flight gets its complete 2xx answer', () => {
      const dropped = results.filter((r) => r.error !== null || r.status === null || r.status < 200 || r.status > 299);
      assert.deepEqual(
        dropped.map((r) => `${r.label}: ${r.error ?? ''} ${r.status ?? ''} ${r.text.slice(0, 200)}`.trim()),
        [],
        `${dropped.length} of the ${pendingAtSignal} requests in flight at SIGTERM got no complete 2xx answer\n${server.logTail(25)}`,
      );
      for (const [i, r] of results.slice(0, CREATES).entries()) assert.equal(r.body?.email, emails[i], `${r.label}: the created user in the answer`);
      for (const r of results.slice(CREATES)) assert.ok(Array.isArray(r.body), `${r.label}: a search result`);
    });

    await t.test('new connections are refused from SIGTERM on, while the requests in flight finish, and after', async () => {
      assert.ok(!(refused instanceof Error), `no new connection was refused within ${EXIT_WITHIN_MS} ms of SIGTERM`);
      assert.ok(refused.pending > 0, `the first refusal came only after every request was answered (${refused.at - signalledAt} ms after SIGTERM)`);
      if (status) assert.equal(await tryConnect(server.port), 'refused', 'new connections are refused after the exit');
    });

    await t.test(`the process exits by itself within ${EXIT_WITHIN_MS / 1000} s of SIGTERM, though clients keep idle keep-alive connections open`, () => {
      assert.notEqual(exitedInTime, null, `still running ${EXIT_WITHIN_MS} ms after SIGTERM (last in-flight answer ${lastAnswerAt - signalledAt} ms after it); ` +
        `${status ? `it exited ${Date.now() - closedConnectionsAt!} ms after the client closed its idle keep-alive connections` : 'it did not exit even after the client closed its connections'}\n${server.logTail(10)}`);
    });

    await t.test('the process exits with code 0', () => {
      assert.deepEqual(status, { code: 0, signal: null }, `exit status (npm's, which passes on the server's through tsx)\n${server.logTail(25)}`);
      assert.equal(server.alive(), false, 'no process of the group is left');
      assert.doesNotMatch(server.stdout() + server.stderr(), /"level":(50|60)/, `the server logged no error\n${server.logTail(25)}`);
    });

    await t.test('the database is closed cleanly: WAL checkpointed, integrity ok, every acknowledged user stored', () => {
      assert.ok(status !== null, 'the server has not exited, so its database is still open');
      // The last connection's close checkpoints the WAL into the database file and removes it.
      const wal = `${path}-wal`;
      assert.ok(!existsSync(wal) || statSync(wal).size === 0, `the WAL was checkpointed on close (${wal}: ${existsSync(wal) ? statSync(wal).size : 0} bytes left)`);
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
        const stored = db.prepare('select u.email, r.role from users u join user_roles r on r.user_id = u.id where u.email like ?').all(`term.${tag}.%`) as { email: string; role: string }[];
        const acknowledged = results.slice(0, CREATES).filter((r) => r.status === 200);
        for (const r of acknowledged) {
          const email = r.body.email as string;
          assert.deepEqual(stored.filter((s) => s.email === email).map((s) => s.role).sort(), ['CHAT-USER', 'TASK-ADMIN'], `${email}, acknowledged, is stored with its roles`);
        }
        const users = (db.prepare('select count(*) as n from users').get() as { n: number }).n;
        const indexed = (db.prepare('select count(*) as n from users_search').get() as { n: number }).n;
        assert.equal(indexed, users, 'the search index holds every user');
      } finally {
        db.close();
      }
    });
  });
}
