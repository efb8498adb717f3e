import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createUser, GOOD_PASSWORD, json, mintKey, testApp } from '../helpers/app.ts';

/**
 * Credential checks must not reveal how close a guess is. API keys and refresh tokens are looked up by SHA-256
 * digest, the admin key is compared digest-to-digest in constant time, and a token's signature is verified as a
 * whole: a guess sharing a long prefix with a real credential must take as long to reject as a random one.
 * Measured statistically: interleaved samples, medians compared.
 */
async function median(app: FastifyInstance, authorization: string, rounds: number, into: number[]) {
  const started = process.hrtime.bigint();
  const res = await app.inject({ method: 'GET', url: '/users/me', headers: { authorization } });
  into.push(Number(process.hrtime.bigint() - started) / 1e6);
  assert.equal(res.statusCode, 401);
  void rounds;
}

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function compare(app: FastifyInstance, variants: Record<string, () => string>, rounds = 300) {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < 50; i++) for (const make of Object.values(variants)) await median(app, `Bearer ${make()}`, 0, []); // warm-up
  for (let i = 0; i < rounds; i++) for (const [name, make] of Object.entries(variants)) await median(app, `Bearer ${make()}`, i, samples[name]!);
  const medians = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, med(v)]));
  const values = Object.values(medians);
  process.stdout.write(`# medians, ms: ${JSON.stringify(medians)}\n`);
  assert.ok(Math.max(...values) / Math.min(...values) < 1.3, `medians differ: ${JSON.stringify(medians)}`);
}

const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
const random = (prefix: string, length: number) =>
  prefix + Array.from({ length }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[Math.floor(Math.random() * 64)]).join('');

test('a wrong API key sharing all but one character with a real one is rejected like a random one', async () => {
  const { app } = await testApp({ GATEHOUSE_LOG_LEVEL: 'warn' });
  const { key } = await mintKey(app, ['CHAT-USER']);
  await compare(app, {
    nearMiss: () => flip(key),
    samePrefix: () => key.slice(0, 30) + random('', key.length - 30),
    random: () => random('gk_', key.length - 3),
  });
});

test('a tampered access token is rejected like a random one', async () => {
  const { app } = await testApp({ GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_AUTH_RATE_LIMIT: '0' });
  const user = await createUser(app);
  const res = await app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: user.email, password: GOOD_PASSWORD } });
  const token: string = json(res).access_token;
  const [header, payload, signature] = token.split('.') as [string, string, string];
  // Characters are changed inside the signature (not at its end, whose spare bits make the encoding invalid and
  // so fail at decoding, a structural check that reveals nothing about the key).
  const at = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  await compare(app, {
    nearMiss: () => `${header}.${payload}.${at(signature, signature.length - 5)}`,
    farMiss: () => `${header}.${payload}.${at(signature, 3)}`,
    otherPayload: () => `${header}.${at(payload, 10)}.${signature}`,
  });
});
