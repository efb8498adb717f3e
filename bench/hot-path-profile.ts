// `npx tsx bench/hot-path-profile.ts [--seconds 8] [--top 25]`: where a hot-path request's time goes. Starts Gatehouse
// with a V8 CPU profile, loads the permission check and `GET /users/me` one after the other (the load generator in a
// process of its own, as in `npm run bench`), and prints for each route the server's CPU per request (from /proc)
// and its profile's self time grouped by area: logger, hooks, headers, serialisation, auth, request context, …
// Only samples taken while that route was under load count, so start-up and set-up are left out.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { load } from './load.ts';
import { startGatehouse } from './processes.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, top: { type: 'string', default: '25' } } });
const seconds = Number(values.seconds);
const top = Number(values.top);
const ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'Bench-Login-Password-42';
const CONNECTIONS = 32;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The area a function belongs to, by where it is defined. Order matters: the first match wins. */
const AREAS: [string, (fn: string, url: string) => boolean][] = [
  ['idle', (fn) => fn === '(idle)'],
  ['socket writes (syscall; includes time preempted)', (fn) => /^(writev|writevGeneric|writeUtf8String|writeLatin1String|writeBuffer)$/.test(fn)],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['logger', (_fn, url) => /pino|sonic-boom|fast-redact|lazy-logger|log-redaction|logger-options/.test(url)],
  ['request context (AsyncLocalStorage)', (fn, url) => /request-context|async_hooks/.test(url) || /^(emitInit|_propagate|lookupPublicResource|executionAsyncResource)/.test(fn)],
  ['metrics', (_fn, url) => /prom-client|src\/http\/metrics/.test(url)],
  ['security headers + Node header checks', (fn, url) => /security-headers/.test(url) || /^(checkInvalidHeaderChar|checkIsHttpToken|_storeHeader|processHeader|storeHeader|validateHeader|Reply\.headers?)$/.test(fn) || /^RegExp: (\[\^\\t|\^\[\\\^_)/.test(fn)],
  ['auth (credential, digest, principal cache)', (_fn, url) => /src\/http\/auth|src\/domain|src\/security|node:internal\/crypto/.test(url)],
  ['serialisation (fast-json-stringify)', (fn, url) => /fast-json-stringify|serializ/.test(url) || /^anonymous\d*$/.test(fn)],
  ['validation (ajv)', (_fn, url) => /ajv|src\/http\/validation/.test(url)],
  ['routing (find-my-way)', (_fn, url) => /find-my-way/.test(url)],
  ['route handlers', (_fn, url) => /src\/http\/routes/.test(url)],
  ['Fastify (hooks, request, reply)', (_fn, url) => /fastify/.test(url)],
  ['Node http, streams, events', (_fn, url) => /^node:(_http|http|net|events|stream|internal\/(streams|http|stream_base_commons|process\/task_queues|timers))/.test(url)],
  ['other', () => true],
];
const areaOf = (fn: string, url: string) => AREAS.find(([, test]) => test(fn, url))![0];

function profileOf(dir: string): CpuProfile {
  // The server's main thread writes the largest profile (the hashing workers write their own).
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!largest) throw new Error('the server wrote no CPU profile');
  return JSON.parse(readFileSync(largest, 'utf8')) as CpuProfile;
}

/** Self time by area and by function over the samples taken between `from` and `to` (µs, the monotonic clock). */
function selfTimes(profile: CpuProfile, from: number, to: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    const { functionName, url, lineNumber } = byId.get(profile.samples[i]!)!.callFrame;
    const dt = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    const area = areaOf(functionName, url);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + dt);
  }
  return { areas, functions };
}

function cpuTicks(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]), system: Number(f[12]) };
}

const work = mkdtempSync(join(tmpdir(), 'gatehouse-hot-profile-'));
const env = { DATABASE_URL: `sqlite:${join(work, 'hot.db')}`, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_AUTH_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'warn' };
const gh = await startGatehouse(env, ['--cpu-prof', `--cpu-prof-dir=${work}`, '--cpu-prof-interval', '250']);
const windows: { name: string; from: number; to: number; requests: number; userUs: number; systemUs: number }[] = [];
try {
  const api = async (path: string, body: unknown) => {
    const res = await fetch(gh.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` }, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, string>;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const user = await api('/users', { email: 'hot@example.com', password: PASSWORD, temporary: false, roles: ['CHAT-USER'], firstName: 'Hot', lastName: 'Path' });
  const key = await api('/auth/api_keys', { roles: ['CHAT-USER'] });
  const token = await api('/auth/token', { grant_type: 'password', username: user.email, password: PASSWORD });
  const check = '/users/permissions/check?action=create&resource=prompts';
  const targets: [string, string, string][] = [
    ['permission check, API key', check, key.key!],
    ['permission check, access token', check, token.access_token!],
    ['`GET /users/me`, access token', '/users/me', token.access_token!],
  ];
  for (const [, path, credential] of targets) await load({ url: gh.url + path, connections: CONNECTIONS, seconds: 2, headers: { authorization: `Bearer ${credential}` } });
  const now = () => Number(process.hrtime.bigint() / 1000n); // the profile's clock: CLOCK_MONOTONIC, in µs
  for (const [name, path, credential] of targets) {
    const before = cpuTicks(gh.child.pid!);
    const from = now();
    const r = await load({ url: gh.url + path, connections: CONNECTIONS, seconds, headers: { authorization: `Bearer ${credential}` } });
    const to = now();
    const after = cpuTicks(gh.child.pid!);
    const requests = r.rps * seconds;
    // USER_HZ is 100: a tick is 10 ms.
    windows.push({ name, from, to, requests, userUs: ((after.user - before.user) * 10_000) / requests, systemUs: ((after.system - before.system) * 10_000) / requests });
    if (r.errors + r.non2xx > 0) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx answers`);
  }
} finally {
  await gh.stop();
}

const profile = profileOf(work);
rmSync(work, { recursive: true, force: true });
const pct = (n: number, of: number) => `${((n / of) * 100).toFixed(1)}%`;
for (const w of windows) {
  const { areas, functions } = selfTimes(profile, w.from, w.to);
  const busy = [...areas].filter(([a]) => a !== 'idle').reduce((n, [, t]) => n + t, 0);
  const js = [...areas].filter(([a]) => a !== 'idle' && !a.startsWith('socket writes')).reduce((n, [, t]) => n + t, 0);
  console.log(`\n### ${w.name}: server CPU ${(w.userUs + w.systemUs).toFixed(1)} µs per request (user ${w.userUs.toFixed(1)}, system ${w.systemUs.toFixed(1)})\n`);
  console.log('| area | of busy samples | of the rest (socket writes left out) |');
  console.log('|---|---:|---:|');
  for (const [area, t] of [...areas].sort((a, b) => b[1] - a[1])) {
    if (area === 'idle') continue;
    console.log(`| ${area} | ${pct(t, busy)} | ${area.startsWith('socket writes') ? '' : pct(t, js)} |`);
  }
  console.log(`\nTop ${top} functions by self time (of busy samples):\n`);
  for (const [fn, t] of [...functions].sort((a, b) => b[1] - a[1]).filter(([fn]) => !fn.startsWith('(idle)')).slice(0, top)) console.log(`- ${pct(t, busy)} ${fn}`);
}
