import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createUser, GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';

/**
 * Credential checks must not reveal how close a guess is. API keys and refresh tokens are looked up by SHA-256
 * digest, the admin key is compared digest-to-digest in constant time, and a token's signature is verified as a
 * whole: a guess sharing a long prefix with a real credential must take as long to reject as a random one.
 *
 * Measured so that a busy machine gives the same verdict as an idle one: the variants are interleaved, in a fresh
 * random order each round, and compared by the median over rounds of the ratio of their two samples in that round
 * (taken moments apart, so under the same load: a burst of load slows both, and a sample it slows alone moves
 * the median of many ratios very little). The accepted band, 0.5–2, is wide because the differences that matter —
 * a path that does extra work, or skips it — are several-fold; noise on a loaded machine is not.
 */
const BAND = { low: 0.5, high: 2 } as const;
const ROUNDS = 200;
const WARM_UP_ROUNDS = 30;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The median over rounds of a[i] / b[i]: how many times slower `a` is than `b`, under the same load. */
function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Measured {
  ratios: Record<string, number>;
  report: string;
}

/** Runs every variant once per round, in a fresh random order, and returns the paired ratio of every two of them. */
async function measure(variants: Record<string, () => Promise<unknown>>): Promise<Measured> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < WARM_UP_ROUNDS; i++) for (const name of names) await variants[name]!();
  for (let i = 0; i < ROUNDS; i++) {
    for (const name of shuffled(names)) {
      const started = process.hrtime.bigint();
      await variants[name]!();
      samples[name]!.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  const medians = Object.fromEntries(names.map((k) => [k, Number(median(samples[k]!).toFixed(4))]));
  const ratios: Record<string, number> = {};
  for (const [i, a] of names.entries()) {
    for (const b of names.slice(i + 1)) ratios[`${a}/${b}`] = Number(pairedRatio(samples[a]!, samples[b]!).toFixed(3));
  }
  return { ratios, report: `medians, ms: ${JSON.stringify(medians)}; paired ratios: ${JSON.stringify(ratios)}` };
}

const inBand = (ratio: number) => ratio >= BAND.low && ratio <= BAND.high;

/** Every variant is an Authorization header for GET /users/me; each must be refused, and all alike in time. */
async function compare(t: TestContext, app: FastifyInstance, variants: Record<string, () => string>) {
  const refusal = (make: () => string) => async () => {
    const res = await app.inject({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${make()}` } });
    assert.equal(res.statusCode, 401);
  };
  const { ratios, report } = await measure(Object.fromEntries(Object.entries(variants).map(([name, make]) => [name, refusal(make)])));
  t.diagnostic(report);
  for (const [pair, ratio] of Object.entries(ratios)) {
    assert.ok(inBand(ratio), `${pair} = ${ratio}, outside ${BAND.low}–${BAND.high} (${report})`);
  }
}

test('the comparison itself: equal work passes, four times the work does not', async (t) => {
  // A probe that passes must mean something: the same measurement, on requests whose cost is known, tells a
  // four-fold difference in work (an extra hash or a skipped one makes far more) from none.
  const app = Fastify();
  app.get('/work/:rounds', async (request) => {
    let digest = Buffer.alloc(32);
    for (let i = Number((request.params as { rounds: string }).rounds); i > 0; i--) digest = createHash('sha256').update(digest).digest();
    return digest.toString('hex');
  });
  t.after(() => app.close());
  const work = (rounds: number) => () => app.inject({ method: 'GET', url: `/work/${rounds}` });
  const { ratios, report } = await measure({ once: work(300), again: work(300), fourfold: work(1200) });
  t.diagnostic(report);
  assert.ok(inBand(ratios['once/again']!), `equal work reads as equal: ${report}`);
  assert.ok(!inBand(ratios['once/fourfold']!) && !inBand(ratios['again/fourfold']!), `four times the work stands out: ${report}`);
});

const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
const random = (prefix: string, length: number) =>
  prefix + Array.from({ length }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[Math.floor(Math.random() * 64)]).join('');

test('a wrong API key sharing all but one character with a real one is rejected like a random one', async (t) => {
  const { app } = await testApp({ GATEHOUSE_LOG_LEVEL: 'warn' });
  const { key } = await mintKey(app, ['CHAT-USER']);
  await compare(t, app, {
    nearMiss: () => flip(key),
    samePrefix: () => key.slice(0, 30) + random('', key.length - 30),
    random: () => random('gk_', key.length - 3),
  });
});

test('a tampered access token is rejected like a random one', async (t) => {
  const { app } = await testApp({ GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_AUTH_RATE_LIMIT: '0' });
  const user = await createUser(app);
  const res = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: user.email, password: GOOD_PASSWORD } });
  const token: string = json(res).access_token;
  const [header, payload, signature] = token.split('.') as [string, string, string];
  // Characters are changed inside the signature (not at its end, whose spare bits make the encoding invalid and
  // so fail at decoding, a structural check that reveals nothing about the key).
  const at = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  await compare(t, app, {
    nearMiss: () => `${header}.${payload}.${at(signature, signature.length - 5)}`,
    farMiss: () => `${header}.${payload}.${at(signature, 3)}`,
    otherPayload: () => `${header}.${at(payload, 10)}.${signature}`,
  });
});
