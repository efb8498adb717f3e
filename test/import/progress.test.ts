import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressLine } from '../../src/import/progress.ts';

describe('the import progress line', () => {
  it('draws on a terminal: count and rate on one line, redrawn in place, ended with a newline', () => {
    const written: string[] = [];
    let now = 0;
    const progress = progressLine({ isTTY: true, write: (t: string) => written.push(t) }, 'users read', () => now);
    now = 1000;
    progress.update(5000);
    now = 1050;
    progress.update(6000); // within 100 ms of the last draw: not redrawn
    now = 2000;
    progress.update(12_000);
    progress.finish();
    assert.deepEqual(written, ['\r\x1b[K5,000 users read (5,000/s, 1 s)', '\r\x1b[K12,000 users read (6,000/s, 2 s)', '\r\x1b[K12,000 users read (6,000/s, 2 s)', '\n']);
  });

  it('writes nothing at all when the stream is not a terminal (a pipe, a file, CI)', () => {
    const written: string[] = [];
    const progress = progressLine({ isTTY: false, write: (t: string) => written.push(t) }, 'users read');
    progress.update(10);
    progress.finish();
    assert.deepEqual(written, []);
  });
});
