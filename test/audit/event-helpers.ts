import assert from 'node:assert/strict';
import { verifyChain, type AuditEvent } from '../../src/domain/audit.ts';
import { createAuditReader } from '../../src/store/audit-store.ts';
import type { DialectHandle } from '../store/dialects.ts';

/** What the service-level event tests share: read the trail, run a change and see what it wrote. */

/** Every event after `after`, in order. */
export async function events(h: DialectHandle, after = 0): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of createAuditReader(h.db).inOrder(after)) out.push(e);
  return out;
}

export const head = async (h: DialectHandle) => (await createAuditReader(h.db).head()).seq;

/** Runs `change` and returns the events it wrote. */
export async function written(h: DialectHandle, change: () => Promise<unknown>): Promise<AuditEvent[]> {
  const before = await head(h);
  await change();
  return events(h, before);
}

/** Runs a change that must be refused (reject with `error`) and checks it wrote nothing. */
export async function refusedSilently(h: DialectHandle, change: () => Promise<unknown>, error: RegExp): Promise<void> {
  const before = await head(h);
  await assert.rejects(change, error);
  assert.deepEqual(await events(h, before), [], 'a refused change writes no event');
  assert.equal(await head(h), before);
}

/** The one event of `list`: a success of `action` on the target. */
export function onlyEvent(list: AuditEvent[], action: string, targetType: string, targetId: string): AuditEvent {
  assert.equal(list.length, 1, `exactly one event: ${JSON.stringify(list.map((e) => e.action))}`);
  const e = list[0]!;
  assert.equal(e.action, action);
  assert.equal(e.targetType, targetType);
  assert.equal(e.targetId, targetId);
  assert.equal(e.outcome, 'success');
  return e;
}

export async function assertChainVerifies(h: DialectHandle): Promise<void> {
  const result = await verifyChain(createAuditReader(h.db).inOrder(), {});
  assert.ok(result.ok, JSON.stringify(result.problem));
}
