import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Config } from './config.ts';
import { auditExportLine, verifyChain, type AuditEvent, type ChainProblem, type Checkpoint } from './domain/audit.ts';
import { createArgon2Hasher } from './security/argon2-hasher.ts';
import { createServices } from './services.ts';
import { createAuditReader } from './store/audit-store.ts';
import { openDatabase, type Database } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

export const AUDIT_USAGE = `usage: gatehouse audit <verify|checkpoint|export|help> ...

  verify [--checkpoint FILE]
             check the whole audit chain, from its anchor to its head: every event, its order, and the head row.
             With FILE (a checkpoint printed earlier by \`gatehouse audit checkpoint\`), first check its signature,
             then that the chain still holds, unchanged, every event the checkpoint vouches for.
             Prints "audit chain OK: …" and exits 0, or names the first bad event and exits 1
  checkpoint prints a signed checkpoint of the chain's head (a JWS); keep it away from this database
  export [--from TIME] [--to TIME]
             the events (at >= --from, < --to; ISO 8601 times) in sequence order, one JSON object a line
  help       show this text`;

/** Where the command's output goes; a returned promise is waited for (standard output's backpressure). */
export type Output = (text: string) => void | Promise<void>;

export interface AuditCommandOptions {
  /** Told things worth a look that are not failures (a checkpoint older than the retention anchor). */
  warn?: (text: string) => void;
}

/** Writes to `stream`, waiting for it to drain when its buffer is full, so a long export never piles up in memory. */
export function streamOutput(stream: NodeJS.WritableStream): Output {
  return (text) => {
    if (stream.write(text)) return;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: unknown) => {
        stream.off('drain', done);
        stream.off('error', done);
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve();
      };
      stream.once('drain', done);
      stream.once('error', done);
    });
  };
}

const LABELS: Record<ChainProblem['kind'], string> = { modified: 'modified', missing: 'missing or reordered', truncated: 'truncated' };

function brokenLine(problem: ChainProblem): string {
  return `audit chain BROKEN at event ${problem.seq} (${LABELS[problem.kind]}): ${problem.detail}\n`;
}

export function parseAuditTime(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Date.parse takes more than ISO 8601; a time an operator means must at least start with a date.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new Error(`${option} must be an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z, got "${value}"`);
  return ms;
}

/** The same database seen at one moment for the whole of `work`: a chain walk sees the head and events as they were. */
function snapshot<T>(database: Database, work: (db: Kysely<any>) => Promise<T>): Promise<T> {
  const tx = (database.db as Kysely<any>).transaction();
  return (database.dialect === 'postgres' ? tx.setIsolationLevel('repeatable read').setAccessMode('read only') : tx).execute(work);
}

async function readCheckpoint(config: Readonly<Config>, database: Database, file: string): Promise<Checkpoint> {
  let jws: string;
  try {
    jws = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new Error(`cannot read checkpoint ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { signer } = await createServices(config, { database, hasher: createArgon2Hasher() });
  const checkpoint = await signer.verifyCheckpoint(jws);
  if (!checkpoint) {
    throw new Error(
      `checkpoint ${file} is not valid: not a Gatehouse audit checkpoint, or its signature, issuer or key does not check out (forged or altered, or made by another Gatehouse or GATEHOUSE_ISSUER)`,
    );
  }
  return checkpoint;
}

/** What `audit verify` found: the checked range, or the first problem; and a warning worth a look that is no failure. */
export interface AuditVerifyReport {
  ok: boolean;
  checked: number;
  first: number | null;
  last: number | null;
  problem: ChainProblem | null;
  warning: string | null;
}

/** The line `audit verify` prints for a report. */
export function verifyReportLine(report: AuditVerifyReport): string {
  if (report.problem) return brokenLine(report.problem);
  return report.checked === 0 ? `audit chain OK: no events (0 checked)\n` : `audit chain OK: events ${report.first}..${report.last} (${report.checked} checked)\n`;
}

/** Walks the whole chain (against the checkpoint in `checkpointFile`, when given) on one snapshot of the database. */
export async function verifyAudit(config: Readonly<Config>, database: Database, checkpointFile: string | undefined): Promise<AuditVerifyReport> {
  const checkpoint = checkpointFile === undefined ? undefined : await readCheckpoint(config, database, checkpointFile);
  return snapshot(database, async (db) => {
    const reader = createAuditReader(db);
    const head = await reader.head();
    const { anchor } = head;
    let end = anchor;
    async function* tracked(): AsyncGenerator<AuditEvent> {
      for await (const e of reader.inOrder(anchor.seq)) {
        end = { seq: e.seq, hash: e.hash };
        yield e;
      }
    }
    const result = await verifyChain(tracked(), { anchor, checkpoint });
    const report = (problem: ChainProblem | null, warning: string | null = null): AuditVerifyReport => ({
      ok: problem === null,
      checked: result.checked,
      first: result.first,
      last: result.last,
      problem,
      warning,
    });
    if (result.problem) return report(result.problem);
    // The chain is whole; now it must end where the head row says, or the newest events (or the row) were touched.
    if (end.seq < head.seq) {
      return report({ kind: 'truncated', seq: end.seq + 1, detail: `the chain ends at event ${end.seq} but audit_head says it reaches event ${head.seq}: the newest events were removed` });
    }
    if (end.seq > head.seq) {
      return report({ kind: 'modified', seq: head.seq + 1, detail: `events ${head.seq + 1}..${end.seq} lie past audit_head (event ${head.seq}): the head row was edited` });
    }
    if (end.hash !== head.hash) return report({ kind: 'modified', seq: head.seq, detail: `audit_head's hash differs from event ${head.seq}'s: the head row was edited` });
    if (checkpoint && checkpoint.seq < anchor.seq) {
      return report(
        null,
        `the checkpoint (event ${checkpoint.seq}) is older than the retention anchor (event ${anchor.seq}): the events it vouches for were pruned, so it confirms nothing; take a newer one`,
      );
    }
    return report(null);
  });
}

async function verify(config: Readonly<Config>, database: Database, checkpointFile: string | undefined, out: Output, warn: (text: string) => void): Promise<number> {
  const report = await verifyAudit(config, database, checkpointFile);
  if (report.warning !== null) warn(`gatehouse: ${report.warning}\n`);
  await out(verifyReportLine(report));
  return report.ok ? 0 : 1;
}

/** A signed checkpoint (a JWS) of the chain's head, refused when the head row does not match the newest event. */
export async function checkpointAudit(config: Readonly<Config>, database: Database): Promise<{ checkpoint: string; seq: number; hash: string; at: number }> {
  const { signer, clock } = await createServices(config, { database, hasher: createArgon2Hasher() });
  const head = await snapshot(database, async (db) => {
    const reader = createAuditReader(db);
    const h = await reader.head();
    // Vouch only for a head that is the chain's newest event (cheap; `verify` checks the rest).
    const newest = (await db.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst()) as
      | { seq: number | string; hash: string }
      | undefined;
    const end = newest ? { seq: Number(newest.seq), hash: newest.hash } : h.anchor;
    if (end.seq !== h.seq || end.hash !== h.hash) {
      throw new Error(`audit_head (event ${h.seq}) does not match the newest event (event ${end.seq}): no checkpoint made; run gatehouse audit verify`);
    }
    return h;
  });
  const at = clock.now();
  return { checkpoint: await signer.signCheckpoint({ seq: head.seq, hash: head.hash, at }), seq: head.seq, hash: head.hash, at };
}

async function checkpoint(config: Readonly<Config>, database: Database, out: Output): Promise<number> {
  await out(`${(await checkpointAudit(config, database)).checkpoint}\n`);
  return 0;
}

/** The events at >= `from`, < `to` (epoch ms), in sequence order, one JSON object a line; streams. */
export async function exportEvents(database: Database, from: number | undefined, to: number | undefined, out: Output): Promise<number> {
  for await (const events of createAuditReader(database.db).range({ from, to })) await out(events.map((e) => auditExportLine(e) + '\n').join(''));
  return 0;
}

/**
 * `gatehouse audit …`: checks, vouches for and exports the audit trail, straight on the database (no running server
 * needed). Streams: memory stays flat however many events there are.
 */
export async function auditCommand(config: Readonly<Config>, argv: string[], out: Output, options: AuditCommandOptions = {}): Promise<number> {
  const warn = options.warn ?? (() => {});
  const [verb, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      checkpoint: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    await out(AUDIT_USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (!['verify', 'checkpoint', 'export'].includes(verb)) throw new Error(`unknown audit command "${verb}" (see gatehouse audit help)`);
  if (positionals.length > 0) throw new Error(`audit ${verb} takes no argument "${positionals[0]}" (see gatehouse audit help)`);
  if (values.checkpoint !== undefined && verb !== 'verify') throw new Error('--checkpoint goes with audit verify');
  if ((values.from !== undefined || values.to !== undefined) && verb !== 'export') throw new Error('--from and --to go with audit export');
  const from = parseAuditTime('--from', values.from);
  const to = parseAuditTime('--to', values.to);

  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(database.db, database.dialect, database.schema);
    if (verb === 'verify') return await verify(config, database, values.checkpoint, out, warn);
    if (verb === 'checkpoint') return await checkpoint(config, database, out);
    return await exportEvents(database, from, to, out);
  } finally {
    await database.close();
  }
}
