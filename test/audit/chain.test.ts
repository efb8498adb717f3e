import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonical, chainHash, GENESIS, verifyChain, type AuditEvent, type ChainProblem } from '../../src/domain/audit.ts';

// The chain itself, without a database: what `canonical` hashes, and each kind of tampering `verifyChain` names,
// with the first bad event.

type Body = Omit<AuditEvent, 'hash' | 'prevHash'>;

function body(seq: number): Body {
  return {
    seq,
    at: 1_767_225_600_000 + seq * 1000,
    actor: seq % 3 === 0 ? { kind: 'system', id: null } : { kind: 'user', id: `user-${seq % 5}` },
    action: seq % 2 === 0 ? 'user.updated' : 'sign_in',
    targetType: 'user',
    targetId: `user-${seq % 7}`,
    outcome: seq % 4 === 0 ? 'failure' : 'success',
    requestId: `req-${seq}`,
    clientIp: '203.0.113.7',
    userAgent: 'curl/8.5',
    details: { n: seq, fields: ['email', 'firstName'], nested: { b: 2, a: 1 } },
  };
}

/** Events first+1 .. first+count, chained after `prev`. */
function chain(count: number, first = 0, prev = GENESIS): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (let seq = first + 1; seq <= first + count; seq++) {
    const b = body(seq);
    const hash = chainHash(prev, b);
    out.push({ ...b, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

/** Recomputes every link after the events were changed: what an attacker with write access could do. */
function rehash(events: AuditEvent[], prev = GENESIS): AuditEvent[] {
  return events.map((e) => {
    const hash = chainHash(prev, e);
    const out = { ...e, prevHash: prev, hash };
    prev = hash;
    return out;
  });
}

async function* stream(events: AuditEvent[]): AsyncGenerator<AuditEvent> {
  yield* events;
}

function problem(kind: ChainProblem['kind'], seq: number) {
  return (r: Awaited<ReturnType<typeof verifyChain>>) => {
    assert.equal(r.ok, false, 'the tampering is found');
    assert.equal(r.problem?.kind, kind, r.problem?.detail);
    assert.equal(r.problem?.seq, seq, r.problem?.detail);
    assert.match(r.problem!.detail, new RegExp(`\\b${seq}\\b`), 'the detail names the event');
  };
}

describe('canonical', () => {
  test('the same event hashes alike whatever the key order of its details, at any depth', () => {
    const a = body(1);
    const b: Body = { ...a, details: { nested: { a: 1, b: 2 }, fields: ['email', 'firstName'], n: 1 } };
    assert.notEqual(JSON.stringify(a.details), JSON.stringify(b.details), 'the detail objects differ in key order');
    assert.equal(canonical(a), canonical(b));
    assert.equal(chainHash(GENESIS, a), chainHash(GENESIS, b));
    // Arrays keep their order: it is content.
    const c: Body = { ...a, details: { ...a.details, fields: ['firstName', 'email'] } };
    assert.notEqual(chainHash(GENESIS, a), chainHash(GENESIS, c));
  });

  test('the canonical form and hash are frozen: stored chains (and kept checkpoints) depend on them byte for byte', () => {
    const e: Body = {
      seq: 1,
      at: 1_767_225_600_000,
      actor: { kind: 'user', id: 'u-1' },
      action: 'user.created',
      targetType: 'user',
      targetId: 'u-1',
      outcome: 'success',
      requestId: null,
      clientIp: '203.0.113.7',
      userAgent: null,
      details: { z: 'é', a: [1, { y: null, b: true }] },
    };
    assert.equal(canonical(e), '[1,1767225600000,"user","u-1","user.created","user","u-1","success",null,"203.0.113.7",null,{"a":[1,{"b":true,"y":null}],"z":"é"}]');
    // = sha256(GENESIS + "\n" + canonical), as `printf '%s\n%s' $GENESIS "$canonical" | sha256sum` gives it.
    assert.equal(chainHash(GENESIS, e), '7db38a3d71db8eb2c9e7e43a0be47af1d92e8d9a2795cd863100382794cf370e');
  });

  test('canonical ignores the hashes; the chain hash covers every other field and the predecessor', () => {
    const [e] = chain(1);
    assert.equal(canonical(e!), canonical({ ...e!, hash: 'x', prevHash: 'y' } as AuditEvent));
    const base = chainHash(GENESIS, e!);
    assert.match(base, /^[0-9a-f]{64}$/);
    const variants: Body[] = [
      { ...e!, seq: 2 },
      { ...e!, at: e!.at + 1 },
      { ...e!, actor: { kind: 'api_key', id: e!.actor.id } },
      { ...e!, actor: { kind: e!.actor.kind, id: 'someone-else' } },
      { ...e!, action: 'user.deleted' },
      { ...e!, targetType: null },
      { ...e!, targetId: 'user-x' },
      { ...e!, outcome: 'failure' },
      { ...e!, requestId: null },
      { ...e!, clientIp: '198.51.100.1' },
      { ...e!, userAgent: null },
      { ...e!, details: { ...e!.details, n: 2 } },
      { ...e!, details: {} },
    ];
    for (const v of variants) assert.notEqual(chainHash(GENESIS, v), base, canonical(v));
    assert.notEqual(chainHash('f'.repeat(64), e!), base);
    // A value that JSON would blur into a neighbour's is still told apart (field boundaries are JSON's).
    assert.notEqual(chainHash(GENESIS, { ...e!, targetType: 'user', targetId: 'a,b' }), chainHash(GENESIS, { ...e!, targetType: 'user,a', targetId: 'b' }));
  });
});

describe('verifyChain', () => {
  test('an intact chain passes: first, last and count', async () => {
    const r = await verifyChain(stream(chain(30)));
    assert.deepEqual(r, { ok: true, checked: 30, first: 1, last: 30 });
    assert.deepEqual(await verifyChain(stream([])), { ok: true, checked: 0, first: null, last: null });
  });

  test('a changed field, stored hash or stored link: modified, at that event', async () => {
    const details = chain(30);
    details[6] = { ...details[6]!, details: { ...details[6]!.details, n: 99 } };
    problem('modified', 7)(await verifyChain(stream(details)));

    const actor = chain(30);
    actor[11] = { ...actor[11]!, actor: { kind: 'user', id: 'mallory' } };
    problem('modified', 12)(await verifyChain(stream(actor)));

    const hash = chain(30);
    hash[19] = { ...hash[19]!, hash: 'a'.repeat(64) };
    problem('modified', 20)(await verifyChain(stream(hash)));

    const link = chain(30);
    link[4] = { ...link[4]!, prevHash: 'b'.repeat(64) };
    problem('modified', 5)(await verifyChain(stream(link)));

    // The last event, changed: nothing follows it, it is still found.
    const lastOne = chain(30);
    lastOne[29] = { ...lastOne[29]!, outcome: 'failure' };
    problem('modified', 30)(await verifyChain(stream(lastOne)));
  });

  test('a removed event, renumbered or not: missing, at its place', async () => {
    const gap = chain(30);
    gap.splice(14, 1);
    problem('missing', 15)(await verifyChain(stream(gap)));

    // Removed, and the later events renumbered to close the gap: their links still give it away.
    const renumbered = chain(30).filter((e) => e.seq !== 15).map((e) => (e.seq > 15 ? { ...e, seq: e.seq - 1 } : e));
    problem('missing', 15)(await verifyChain(stream(renumbered)));

    const first = chain(30).slice(1);
    problem('missing', 1)(await verifyChain(stream(first)));
  });

  test('events swapped, in place (sequence numbers kept) or in order: missing or reordered, at the earlier one', async () => {
    const events = chain(30);
    const swapped = events.map((e) => (e.seq === 10 ? { ...events[19]!, seq: 10 } : e.seq === 20 ? { ...events[9]!, seq: 20 } : e));
    problem('missing', 10)(await verifyChain(stream(swapped)));

    const adjacent = events.map((e) => (e.seq === 3 ? { ...events[3]!, seq: 3 } : e.seq === 4 ? { ...events[2]!, seq: 4 } : e));
    problem('missing', 3)(await verifyChain(stream(adjacent)));

    const outOfOrder = [...events];
    [outOfOrder[9], outOfOrder[19]] = [outOfOrder[19]!, outOfOrder[9]!];
    problem('missing', 10)(await verifyChain(stream(outOfOrder)));

    const duplicated = [...events.slice(0, 8), events[7]!, ...events.slice(8)];
    problem('missing', 9)(await verifyChain(stream(duplicated)));
  });

  test('from a retention anchor: the first remaining event must follow the anchor', async () => {
    const all = chain(30);
    const anchor = { seq: 10, hash: all[9]!.hash };
    const kept = all.slice(10);
    assert.deepEqual(await verifyChain(stream(kept), { anchor }), { ok: true, checked: 20, first: 11, last: 30 });
    problem('missing', 1)(await verifyChain(stream(kept)));
    problem('missing', 11)(await verifyChain(stream(kept), { anchor: { seq: 10, hash: 'c'.repeat(64) } }));
    problem('missing', 11)(await verifyChain(stream(kept.slice(1)), { anchor }));
    assert.deepEqual(await verifyChain(stream([]), { anchor }), { ok: true, checked: 0, first: null, last: null });
  });

  test('against a checkpoint: a chain that ends before it is truncated; a rebuilt chain differs from it', async () => {
    const events = chain(30);
    const at25 = { seq: 25, hash: events[24]!.hash, at: 1 };
    const at30 = { seq: 30, hash: events[29]!.hash, at: 1 };
    assert.equal((await verifyChain(stream(events), { checkpoint: at25 })).ok, true, 'a chain that grew past its checkpoint');
    assert.equal((await verifyChain(stream(events), { checkpoint: at30 })).ok, true);

    // The newest five removed (and the head row rewound to match): only the checkpoint tells.
    assert.equal((await verifyChain(stream(events.slice(0, 25)))).ok, true);
    problem('truncated', 26)(await verifyChain(stream(events.slice(0, 25)), { checkpoint: at30 }));
    problem('truncated', 1)(await verifyChain(stream([]), { checkpoint: at30 }));
    problem('truncated', 11)(await verifyChain(stream([]), { checkpoint: at30, anchor: { seq: 10, hash: events[9]!.hash } }));

    // Event 5 rewritten and every later hash recomputed: a consistent chain, which the checkpoint refutes.
    const rebuilt = rehash(events.map((e) => (e.seq === 5 ? { ...e, details: {} } : e)));
    assert.equal((await verifyChain(stream(rebuilt))).ok, true, 'the rebuilt chain is consistent in itself');
    problem('modified', 25)(await verifyChain(stream(rebuilt), { checkpoint: at25 }));
    problem('modified', 30)(await verifyChain(stream(rebuilt), { checkpoint: at30 }));

    // A checkpoint at the retention anchor vouches for the anchor's hash.
    const anchor = { seq: 10, hash: events[9]!.hash };
    assert.equal((await verifyChain(stream(events.slice(10)), { anchor, checkpoint: { seq: 10, hash: anchor.hash, at: 1 } })).ok, true);
    problem('modified', 10)(await verifyChain(stream(events.slice(10)), { anchor, checkpoint: { seq: 10, hash: 'd'.repeat(64), at: 1 } }));
  });

  test('streams: one event at a time, and nothing more is read after the first bad one', async () => {
    let pulled = 0;
    let prev = GENESIS;
    async function* many(): AsyncGenerator<AuditEvent> {
      for (let seq = 1; seq <= 20_000; seq++) {
        pulled += 1;
        const b = body(seq);
        const hash = chainHash(prev, b);
        const event = { ...b, prevHash: prev, hash };
        prev = hash;
        yield seq === 15_000 ? { ...event, clientIp: '192.0.2.66' } : event;
      }
    }
    const r = await verifyChain(many());
    problem('modified', 15_000)(r);
    assert.equal(r.checked, 14_999);
    assert.equal(pulled, 15_000, 'stopped at the bad event');
  });
});
