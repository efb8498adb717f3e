import { sql, type Kysely } from 'kysely';

/**
 * Frozen: once landed, never edited. The audit trail: events chained by hashes, and the chain's head.
 *
 * `audit_head` is one row: the newest event's sequence number, hash and time, and the anchor a retention cut leaves
 * (the last removed event). Keeping the newest time lets appenders keep event times in sequence order whatever the
 * replicas' clocks say, so a time range is a sequence range. Appending locks it, which orders every writer (across replicas too) into one chain; the lock
 * is held only from the append to the commit of the change it records.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text')
    .addColumn('target_id', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  // Reading newest first by one filter: each index ends in seq, so a page is a short backward range scan.
  await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'seq']).execute();
  await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target_id', 'seq']).execute();
  await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'seq']).execute();
  await db.schema.createIndex('audit_events_at').on('audit_events').columns(['at', 'seq']).execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('anchor_seq', 'bigint', (c) => c.notNull())
    .addColumn('anchor_hash', 'text', (c) => c.notNull())
    .execute();
  // When the trail recorded a key's expiry (the sweep that writes `api_key.expired` marks each key once).
  await db.schema.alterTable('api_keys').addColumn('expiry_recorded_at', 'bigint').execute();

  const genesis = '0'.repeat(64);
  await sql`insert into audit_head (id, seq, hash, at, anchor_seq, anchor_hash) values (1, 0, ${genesis}, 0, 0, ${genesis})`.execute(db);
}
