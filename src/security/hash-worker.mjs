// A password-hashing worker thread (see hash-pool.ts). Plain JavaScript so it loads without a TypeScript loader.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { hashSync, verifySync } from '@node-rs/argon2';

// Lower this thread's CPU priority (Linux: /proc/thread-self names our thread id, and nice is per thread), so the
// event loop thread wins the CPU whenever it has requests to serve. Where that is not possible, hashing still
// works; it just competes on equal terms.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, workerData.nice);
} catch {
  // not Linux, or not permitted
}

parentPort.on('message', ({ id, op, password, phc, options }) => {
  try {
    const result = op === 'hash' ? hashSync(password, options) : verifySync(phc, password);
    parentPort.postMessage({ id, result });
  } catch {
    parentPort.postMessage({ id, result: op === 'hash' ? null : false });
  }
});
