import { createHash } from 'node:crypto';

/**
 * The audit trail: one event per state change or security event, written in the same transaction as the change,
 * chained by hashes so that an edited, deleted, reordered or (against a checkpoint) truncated event is found.
 *
 * Chain: hash(n) = SHA-256(hash(n-1) ‖ "\n" ‖ canonical(event n)), hex; the first event's predecessor is GENESIS.
 * `canonical` is JSON with a fixed key order (and sorted detail keys), so the same event always hashes alike
 * whichever dialect stored it.
 */

/** `cli`: the `gatehouse` command, working on the database directly; its id is the operating-system user who ran it. */
export type ActorKind = 'user' | 'api_key' | 'admin_key' | 'system' | 'anonymous' | 'cli';
export type Outcome = 'success' | 'failure';

export interface Actor {
  kind: ActorKind;
  /** The user's id, the API key's id, `admin-key`, the OS user name (cli), or null for the system and anonymous callers. */
  id: string | null;
}

export const SYSTEM_ACTOR: Actor = { kind: 'system', id: null };

/** Where a request came from: filled in by the HTTP layer, empty for the command line and background work. */
export interface RequestMeta {
  actor: Actor;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
}

export const NO_REQUEST: RequestMeta = { actor: SYSTEM_ACTOR, requestId: null, clientIp: null, userAgent: null };

/** What a service says happened; the store adds sequence, time, request and chain. */
export interface AuditDraft {
  action: AuditAction;
  target?: { type: string; id: string } | undefined;
  outcome?: Outcome;
  /** Never a secret: no password, key, token or hash. */
  details?: Record<string, unknown>;
  /** Overrides the request's actor (a sign-in is done by the user who signs in). */
  actor?: Actor;
}

/** Every action the trail records. Names are `noun.verb`, stable: SIEM rules match on them. */
export const AUDIT_ACTIONS = [
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.roles_changed',
  'user.password_reset',
  'user.password_changed',
  'user.locked',
  'user.unlocked',
  'users.imported',
  'group.created',
  'group.updated',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
  'api_key.minted',
  'api_key.deactivated',
  'api_key.expired',
  'client.registered',
  'client.updated',
  'client.secret_rotated',
  'client.deleted',
  'sign_in',
  'refresh_token.reused',
  'session.ended',
  'token.revoked',
  'bootstrap',
  'audit.pruned',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
  seq: number;
  at: number;
  actor: Actor;
  action: AuditAction;
  targetType: string | null;
  targetId: string | null;
  outcome: Outcome;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS = '0'.repeat(64);

function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedDeep((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The event's content as hashed: every field but the hashes, in a fixed order. */
export function canonical(e: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  return JSON.stringify([
    e.seq,
    e.at,
    e.actor.kind,
    e.actor.id,
    e.action,
    e.targetType,
    e.targetId,
    e.outcome,
    e.requestId,
    e.clientIp,
    e.userAgent,
    sortedDeep(e.details),
  ]);
}

export function chainHash(prevHash: string, e: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  return createHash('sha256').update(`${prevHash}\n${canonical(e)}`).digest('hex');
}

/** A signed statement of the chain's head: with it, removing the newest events is detected too. */
export interface Checkpoint {
  seq: number;
  hash: string;
  at: number;
}

export type ChainProblem =
  | { kind: 'modified'; seq: number; detail: string }
  | { kind: 'missing'; seq: number; detail: string }
  | { kind: 'truncated'; seq: number; detail: string };

export interface VerifyResult {
  ok: boolean;
  checked: number;
  first: number | null;
  last: number | null;
  problem?: ChainProblem;
}

/**
 * Walks events in sequence order and reports the first one that breaks the chain: a changed field (its hash no
 * longer matches), a gap or reordering (sequence or predecessor hash out of line), or — given a checkpoint — a
 * chain that ends before it or disagrees with it. `anchor` is where a retention cut left the chain (the hash the
 * first remaining event must follow).
 *
 * How a problem is named:
 * - `missing` (missing or reordered): the event in a sequence number's place is not the one that belongs there — a
 *   gap in the numbers, or an event that does not follow its predecessor (deleted and renumbered, moved, swapped);
 * - `modified`: the event follows its predecessor but its content, or its stored hashes, changed; or, against a
 *   checkpoint, the chain was rewritten (consistently rehashed) at or before the checkpoint's event;
 * - `truncated`: the chain ends before the checkpoint's event.
 *
 * Streams: holds one event at a time, whatever the chain's length.
 */
export async function verifyChain(
  events: AsyncIterable<AuditEvent>,
  options: { anchor?: { seq: number; hash: string } | undefined; checkpoint?: Checkpoint | undefined } = {},
): Promise<VerifyResult> {
  const anchor = options.anchor ?? { seq: 0, hash: GENESIS };
  const cp = options.checkpoint;
  let expectedSeq = anchor.seq + 1;
  let prev = anchor.hash;
  let checked = 0;
  let first: number | null = null;
  let last: number | null = null;
  const result = (problem?: ChainProblem): VerifyResult => ({ ok: !problem, checked, first, last, ...(problem ? { problem } : {}) });
  // A checkpoint at the anchor itself vouches for the hash the retention cut left.
  if (cp && cp.seq === anchor.seq && cp.hash !== anchor.hash) {
    return result({ kind: 'modified', seq: cp.seq, detail: `the anchor (event ${cp.seq}) differs from the checkpoint's: the chain was rewritten at or before event ${cp.seq}` });
  }
  for await (const e of events) {
    if (e.seq !== expectedSeq) {
      return result({ kind: 'missing', seq: expectedSeq, detail: `event ${expectedSeq} is missing or out of order (found ${e.seq} in its place)` });
    }
    const hash = chainHash(prev, e);
    if (e.prevHash !== prev) {
      // Intact content after the true predecessor: only the stored link was edited. Otherwise another event stands
      // in this place (a deleted event's successor renumbered, or events moved or swapped).
      if (hash === e.hash) {
        return result({ kind: 'modified', seq: e.seq, detail: `event ${e.seq} was modified (its stored predecessor hash was changed)` });
      }
      return result({ kind: 'missing', seq: e.seq, detail: `event ${e.seq} does not follow event ${e.seq - 1}: events were removed, moved or swapped here` });
    }
    if (hash !== e.hash) {
      return result({ kind: 'modified', seq: e.seq, detail: `event ${e.seq} was modified (its content no longer matches its hash)` });
    }
    first ??= e.seq;
    last = e.seq;
    checked += 1;
    prev = e.hash;
    expectedSeq += 1;
    if (cp && e.seq === cp.seq && e.hash !== cp.hash) {
      return result({ kind: 'modified', seq: e.seq, detail: `event ${e.seq} differs from the checkpoint's: the chain was rewritten at or before event ${e.seq}` });
    }
  }
  const end = last ?? anchor.seq;
  if (cp && end < cp.seq) {
    return result({
      kind: 'truncated',
      seq: end + 1,
      detail: `events ${end + 1}..${cp.seq} are gone: the chain ends ${end === 0 ? 'before its first event' : `at event ${end}`} but the checkpoint vouches for events up to ${cp.seq} (the newest events were removed)`,
    });
  }
  return result();
}

/**
 * One line of the JSON Lines export (`gatehouse audit export`, `GET /audit/export`): every field of the event,
 * `at` in epoch milliseconds exactly as hashed (so a SIEM can recompute the chain) and `time` the same instant
 * in ISO 8601.
 */
export function auditExportLine(e: AuditEvent): string {
  return JSON.stringify({
    seq: e.seq,
    at: e.at,
    time: new Date(e.at).toISOString(),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    outcome: e.outcome,
    requestId: e.requestId,
    clientIp: e.clientIp,
    userAgent: e.userAgent,
    details: e.details,
    prevHash: e.prevHash,
    hash: e.hash,
  });
}
