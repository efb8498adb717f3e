import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createHashPool } from '../../src/security/hash-pool.ts';

const small = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** Nice values of this process's threads, from /proc (field 19 of each task's stat). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('the pool hashes argon2id and verifies right and wrong passwords', async (t) => {
  const pool = createHashPool(small, 2);
  t.after(() => pool.close());
  const phc = await pool.hash('Correct-Horse-42!');
  assert.match(phc, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  assert.equal(await pool.verify(phc, 'Correct-Horse-42!'), true);
  assert.equal(await pool.verify(phc, 'Correct-Horse-43!'), false);
  assert.equal(await pool.verify('not a hash', 'x'), false);
});

test('many concurrent jobs on few workers all complete, each with its own answer', async (t) => {
  const pool = createHashPool(small, 2);
  t.after(() => pool.close());
  const passwords = Array.from({ length: 24 }, (_, i) => `Password-${i}-x`);
  const hashes = await Promise.all(passwords.map((p) => pool.hash(p)));
  const checks = await Promise.all(hashes.map((h, i) => pool.verify(h, passwords[i]!)));
  assert.deepEqual(checks, passwords.map(() => true));
  assert.equal(await pool.verify(hashes[0]!, passwords[1]!), false);
});

test('hashing threads run at a lower CPU priority than the event loop', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const before = threadNices().filter((n) => n === 10).length;
  const pool = createHashPool(small, 2, 10);
  t.after(() => pool.close());
  await Promise.all([pool.hash('a-Password-1'), pool.hash('b-Password-2')]);
  assert.equal(threadNices().filter((n) => n === 10).length - before, 2);
  assert.equal(Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[16]), 0, 'event loop thread keeps nice 0');
});
