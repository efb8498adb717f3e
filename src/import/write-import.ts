import type { AssignableRole } from '../domain/access.ts';
import { uuidv7 } from '../domain/ids.ts';
import { systemClock, type Clock, type PasswordHasher } from '../domain/ports.ts';
import { isLegacyHash, NO_PASSWORD } from '../security/legacy-password.ts';
import type { AuditWriter } from '../store/audit-store.ts';
import type { Database } from '../store/database.ts';
import { inImportTransaction, type GroupDefinition, type ImportRow, type UserImportStore } from '../store/user-import-store.ts';
import { fileCounts, recordSkip, REPORT_LIST_LIMIT, type ImportReport } from './import-report.ts';
import type { ImportCandidate, ImportedUser } from './import-types.ts';

/** What every import needs besides its source. */
export interface ImportRunOptions {
  database: Database;
  /** Gatehouse's argon2id hasher: hashes the passwords a source gives in clear (CSV `password`, Keycloak `value`). */
  hasher: PasswordHasher;
  /** Users already stored (same id) are updated instead of skipped. */
  update?: boolean;
  /** Do everything, then roll back: the report says what would happen, nothing is written. */
  dryRun?: boolean;
  clock?: Clock;
  /** Records read so far; called after every batch (the CLI draws its progress bar from it). */
  onProgress?: (read: number) => void;
  /** The audit writer the import's event goes through (the CLI's, with its actor); default: a system event. */
  audit?: AuditWriter;
  /** Users per batch (checked and written together). */
  batchSize?: number;
}

const DEFAULT_BATCH = 5000;

/**
 * Writes what an importer reads, in one transaction: batch by batch, each checked against the database (already
 * imported? email taken?) and written with multi-row inserts. One `users.imported` audit event records the run.
 */
export async function writeImport(
  candidates: AsyncIterable<ImportCandidate>,
  report: ImportReport,
  opts: ImportRunOptions & { groupRoles?: (name: string) => AssignableRole[] },
): Promise<ImportReport> {
  const defined = new Map<string, GroupDefinition>();
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const at = clock.now();
  const roles = opts.groupRoles ?? (() => []);
  const groupDefinition = (name: string): GroupDefinition => defined.get(name) ?? { roles: roles(name) };
  await inImportTransaction(opts.database, { dryRun: opts.dryRun ?? false, newId: () => uuidv7(clock.now()), ...(opts.audit ? { audit: opts.audit } : {}) }, async (store) => {
    let batch: Extract<ImportCandidate, { kind: 'user' }>[] = [];
    for await (const candidate of candidates) {
      if (candidate.kind === 'group') {
        // A group the source defines (JSON Lines): created now, with its id, description and roles.
        const { name, ...def } = candidate.group;
        defined.set(name, def);
        const { created } = await store.groupIds([name], groupDefinition, at);
        report.groupsCreated.push(...created);
        continue;
      }
      fileCounts(report, candidate.at.file).read += 1;
      report.totals.read += 1;
      if (candidate.kind === 'skip') {
        const { kind: _kind, at: where, ...skip } = candidate;
        recordSkip(report, skip, where);
      } else {
        batch.push(candidate);
        if (batch.length >= batchSize) {
          await writeBatch(store, batch, report, opts, at, groupDefinition);
          batch = [];
          opts.onProgress?.(report.totals.read);
        }
      }
    }
    await writeBatch(store, batch, report, opts, at, groupDefinition);
    opts.onProgress?.(report.totals.read);
    const { imported, updated, skipped } = report.totals;
    if (imported + updated > 0) {
      await store.audit([
        { action: 'users.imported', details: { format: report.format, source: report.source, imported, updated, skipped, groups_created: report.groupsCreated.length } },
      ]);
    }
  });
  // Skips were recorded as found (some at reading, some at writing): listed in the source's order.
  const fileOrder = new Map(report.files.map((f, i) => [f.file, i]));
  report.skipped.sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.position - b.position);
  report.durationMs = clock.now() - started;
  return report;
}

async function writeBatch(
  store: UserImportStore,
  batch: Extract<ImportCandidate, { kind: 'user' }>[],
  report: ImportReport,
  opts: ImportRunOptions,
  at: number,
  groupDefinition: (name: string) => GroupDefinition,
): Promise<void> {
  if (batch.length === 0) return;
  const { byId, emailOwner } = await store.existing(
    batch.map((c) => c.user.id),
    batch.map((c) => c.user.email),
  );
  const inserts: typeof batch = [];
  const updates: typeof batch = [];
  const idsInBatch = new Set<string>();
  for (const c of batch) {
    const { user } = c;
    const skip = (reason: 'already_imported' | 'duplicate_email' | 'invalid', detail?: string) =>
      recordSkip(report, { reason, id: user.id, username: c.username, email: user.email, detail }, c.at);
    if (idsInBatch.has(user.id)) {
      skip('invalid', 'the same id appears twice in the source');
      continue;
    }
    const prior = byId.get(user.id);
    const owner = emailOwner.get(user.email);
    if (prior && !opts.update) {
      skip('already_imported');
    } else if (owner !== undefined && owner !== user.id) {
      skip('duplicate_email', `user ${owner} has this email`);
    } else {
      idsInBatch.add(user.id);
      // Later users of this batch with the same email are duplicates; later batches find it stored.
      emailOwner.set(user.email, user.id);
      (prior ? updates : inserts).push(c);
    }
  }
  const hashes = await Promise.all([...inserts, ...updates].map((c) => passwordHashOf(c.user, opts.hasher)));
  const hashOf = new Map([...inserts, ...updates].map((c, i) => [c.user.id, hashes[i]!]));

  // In id order: consecutive inserts then land near each other in the primary key's B-tree (fewer pages touched).
  const rows: ImportRow[] = inserts.map((c) => toRow(c.user, hashOf.get(c.user.id)!)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await store.insertUsers(rows, at);
  for (const c of updates) {
    const prior = byId.get(c.user.id)!;
    // A password Gatehouse already holds (set or re-hashed here) is newer than the source's: only an imported
    // hash that was never used is replaced.
    const keepPassword = !isLegacyHash(prior.passwordHash);
    const row = toRow(c.user, hashOf.get(c.user.id)!);
    await store.updateUser({ ...row, passwordHash: keepPassword ? undefined : row.passwordHash }, at);
  }

  const written = [...inserts, ...updates];
  const names = [...new Set(written.flatMap((c) => c.user.groups))];
  if (names.length > 0) {
    const { ids, created } = await store.groupIds(names, groupDefinition, at);
    report.groupsCreated.push(...created);
    await store.addMembers(
      written.flatMap((c) => c.user.groups.map((g) => ({ groupId: ids.get(g)!, userId: c.user.id }))),
      at,
    );
  }

  for (const c of written) {
    const counts = fileCounts(report, c.at.file);
    if (byId.has(c.user.id)) {
      counts.updated += 1;
      report.totals.updated += 1;
    } else {
      counts.imported += 1;
      report.totals.imported += 1;
    }
    if (c.user.passwordTemporary && !c.needsReset) report.totals.temporaryPasswords += 1;
    if (c.needsReset) {
      report.totals.needReset += 1;
      if (report.needReset.length < REPORT_LIST_LIMIT) report.needReset.push({ id: c.user.id, email: c.user.email, reason: c.needsReset });
    }
  }
}

function toRow(user: ImportedUser, passwordHash: string): ImportRow {
  return {
    id: user.id,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    enabled: user.enabled,
    createdAt: user.createdAt,
    passwordHash,
    passwordTemporary: user.passwordTemporary,
    roles: user.roles,
  };
}

async function passwordHashOf(user: ImportedUser, hasher: PasswordHasher): Promise<string> {
  if (user.passwordHash !== undefined) return user.passwordHash;
  if (user.password !== undefined) return hasher.hash(user.password);
  return NO_PASSWORD;
}
