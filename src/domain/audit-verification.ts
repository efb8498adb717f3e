import { verifyChain, type AuditEvent, type ChainProblem } from './audit.ts';
import type { Clock } from './ports.ts';

/**
 * The hash chain's verification as a running server keeps it: the whole chain once at start, then only the events
 * appended since the last verified one (continuing from its sequence number and hash, as from an anchor), and the
 * whole chain again every `fullEveryMs`. So at ten million events a minute's new events cost a few milliseconds;
 * the full walk (which catches edits to old rows) runs once a day. `gatehouse audit verify` checks everything on
 * demand.
 */

export interface ChainHead {
  seq: number;
  hash: string;
  /** Where retention cut the chain (seq 0 and 64 zeros before any cut). */
  anchor: { seq: number; hash: string };
}

/** What a verification pass reads. */
export interface ChainReader {
  head(): Promise<ChainHead>;
  /** The events with `after` < seq ≤ `through`, in sequence order. */
  events(after: number, through: number): AsyncIterable<AuditEvent>;
}

export type VerificationState =
  | { status: 'pending' }
  | {
      status: 'ok' | 'broken';
      /** Events verified, all told: the run from `firstSeq` to `lastSeq`. */
      checked: number;
      firstSeq: number | null;
      lastSeq: number | null;
      /** When the latest pass ended (epoch ms). */
      verifiedAt: number;
      /** When the latest pass over the whole chain ended. */
      fullVerifiedAt: number;
      problem?: ChainProblem;
    };

export interface ChainVerification {
  state(): VerificationState;
  /** One pass (full or incremental, as due); a pass already running is joined, not repeated. */
  run(): Promise<VerificationState>;
  /** True when no pass has started in the last `maxAgeMs` (by this verification's clock). */
  staleAfter(maxAgeMs: number): boolean;
}

/** Passes that meet a retention cut halfway start again from the new anchor, this many times at most. */
const RETRIES = 3;

export function createChainVerification(deps: { reader: ChainReader; clock: Clock; fullEveryMs: number }): ChainVerification {
  const { reader, clock } = deps;
  let current: VerificationState = { status: 'pending' };
  /** The verified prefix's end and when the last full pass finished: where an incremental pass continues. */
  let verified: { end: { seq: number; hash: string }; first: number | null; fullAt: number } | null = null;
  let running: Promise<VerificationState> | null = null;
  let startedAt: number | null = null;

  async function pass(): Promise<VerificationState> {
    // A broken chain stays reported until the next full pass is due: walking ten million events every minute to
    // find the same break again would cost a replica its CPU. `gatehouse audit verify` re-checks at once.
    if (current.status === 'broken' && clock.now() - current.fullVerifiedAt < deps.fullEveryMs) return current;
    for (let attempt = 1; ; attempt++) {
      const head = await reader.head();
      const continued = verified !== null && clock.now() - verified.fullAt < deps.fullEveryMs && head.anchor.seq <= verified.end.seq ? verified : null;
      // Continue from the verified end; a full pass (first, daily, or after a retention cut past that end) starts at
      // the anchor.
      const from = continued ? continued.end : head.anchor;
      const outcome = await walk(from, head);
      if (outcome.problem && attempt < RETRIES) {
        // Pruning during the walk removes events it was about to read: not tampering. Walk again from the new anchor.
        const after = await reader.head();
        if (after.anchor.seq !== head.anchor.seq) continue;
      }
      const now = clock.now();
      const last = outcome.last > head.anchor.seq ? outcome.last : null;
      let first = continued ? (continued.first ?? outcome.first) : outcome.first;
      // Events before a later retention cut are gone: the verified run now starts after the anchor.
      if (first !== null && first <= head.anchor.seq) first = head.anchor.seq + 1;
      if (last === null) first = null;
      const checked = first === null || last === null ? 0 : last - first + 1;
      const fullAt = continued ? continued.fullAt : now;
      if (outcome.problem) {
        verified = null;
        current = { status: 'broken', checked, firstSeq: first, lastSeq: last, verifiedAt: now, fullVerifiedAt: fullAt, problem: outcome.problem };
      } else {
        verified = { end: { seq: head.seq, hash: head.hash }, first, fullAt };
        current = { status: 'ok', checked, firstSeq: first, lastSeq: last, verifiedAt: now, fullVerifiedAt: fullAt };
      }
      return current;
    }
  }

  /**
   * Verifies the events after `from` up to the head read at the start, then that the chain ends where that head
   * says. Events committed later are left for the next pass: an append moves the head in the same transaction as
   * its events, so every event up to a head that was read is there to be read. `last` is the last good event.
   */
  async function walk(from: { seq: number; hash: string }, head: ChainHead): Promise<{ first: number | null; last: number; problem?: ChainProblem }> {
    if (head.seq < from.seq) {
      const detail = `audit_head went back from event ${from.seq} to event ${head.seq}: the newest events were removed`;
      return { first: null, last: head.seq, problem: { kind: 'truncated', seq: head.seq + 1, detail } };
    }
    let end = from;
    async function* tracked(): AsyncGenerator<AuditEvent> {
      for await (const e of reader.events(from.seq, head.seq)) {
        end = { seq: e.seq, hash: e.hash };
        yield e;
      }
    }
    const result = await verifyChain(tracked(), { anchor: from });
    const last = result.last ?? from.seq;
    if (result.problem) return { first: result.first, last, problem: result.problem };
    if (end.seq < head.seq) {
      const detail = `the chain ends at event ${end.seq} but audit_head says it reaches event ${head.seq}: the newest events were removed`;
      return { first: result.first, last, problem: { kind: 'truncated', seq: end.seq + 1, detail } };
    }
    if (end.hash !== head.hash) {
      const detail = `audit_head's hash differs from event ${head.seq}'s: the head row or the newest events were edited`;
      return { first: result.first, last, problem: { kind: 'modified', seq: head.seq, detail } };
    }
    return { first: result.first, last };
  }

  return {
    state: () => current,
    staleAfter: (maxAgeMs) => startedAt === null || clock.now() - startedAt >= maxAgeMs,
    run() {
      running ??= (async () => {
        startedAt = clock.now();
        try {
          return await pass();
        } finally {
          running = null;
        }
      })();
      return running;
    },
  };
}
