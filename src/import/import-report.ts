import type { SkipReason, SourcePosition } from './import-types.ts';

/** How many skipped users (and users needing a reset) a report lists one by one; past it they are only counted. */
export const REPORT_LIST_LIMIT = 100_000;

export interface FileCounts {
  file: string;
  /** Records read from this file. */
  read: number;
  imported: number;
  updated: number;
  skipped: number;
}

export interface SkippedUser {
  file: string;
  position: number;
  reason: SkipReason;
  id?: string | undefined;
  username?: string | undefined;
  email?: string | undefined;
  detail?: string | undefined;
}

export interface UserNeedingReset {
  id: string;
  email: string;
  /** Why no usable password came along (`unsupported_algorithm: md5`, `no_password`). */
  reason: string;
}

/** What an import did (or, with `dryRun`, would do): printed by the CLI, as JSON with `--json`. */
export interface ImportReport {
  source: string;
  format: 'keycloak' | 'csv' | 'jsonl';
  dryRun: boolean;
  update: boolean;
  files: FileCounts[];
  totals: { read: number; imported: number; updated: number; skipped: number; temporaryPasswords: number; needReset: number };
  skippedByReason: Partial<Record<SkipReason, number>>;
  /** Every skipped user with the reason, up to REPORT_LIST_LIMIT; `skippedNotListed` counts the rest. */
  skipped: SkippedUser[];
  skippedNotListed: number;
  /** Users imported without a usable password: an operator resets theirs (docs/import-export.md). */
  needReset: UserNeedingReset[];
  /** Source roles no `--role-map` entry maps, with how many users (or groups) held each. */
  unmappedRoles: { role: string; holders: number }[];
  groupsCreated: string[];
  /** Files of an export directory that were not read (not a realm or users file: e.g. federated-users files). */
  ignoredFiles: string[];
  durationMs: number;
}

export function newReport(source: string, format: ImportReport['format'], opts: { dryRun: boolean; update: boolean }): ImportReport {
  return {
    source,
    format,
    dryRun: opts.dryRun,
    update: opts.update,
    files: [],
    totals: { read: 0, imported: 0, updated: 0, skipped: 0, temporaryPasswords: 0, needReset: 0 },
    skippedByReason: {},
    skipped: [],
    skippedNotListed: 0,
    needReset: [],
    unmappedRoles: [],
    groupsCreated: [],
    ignoredFiles: [],
    durationMs: 0,
  };
}

export function fileCounts(report: ImportReport, file: string): FileCounts {
  let counts = report.files.at(-1);
  if (counts?.file !== file) {
    counts = report.files.find((f) => f.file === file);
    if (!counts) {
      counts = { file, read: 0, imported: 0, updated: 0, skipped: 0 };
      report.files.push(counts);
    }
  }
  return counts;
}

export function recordSkip(report: ImportReport, skip: Omit<SkippedUser, 'file' | 'position'>, at: SourcePosition): void {
  fileCounts(report, at.file).skipped += 1;
  report.totals.skipped += 1;
  report.skippedByReason[skip.reason] = (report.skippedByReason[skip.reason] ?? 0) + 1;
  if (report.skipped.length < REPORT_LIST_LIMIT) report.skipped.push({ file: at.file, position: at.position, ...skip });
  else report.skippedNotListed += 1;
}

/** The report for people: counts per file, then every skipped user and every user who needs a password reset. */
export function formatReport(report: ImportReport): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would import' : 'imported';
  lines.push(`${report.dryRun ? 'DRY RUN (nothing written): ' : ''}${report.format} import from ${report.source}`);
  for (const f of report.files) {
    lines.push(`  ${f.file}: ${f.read} read, ${f.imported} ${verb}, ${f.updated} ${report.dryRun ? 'would update' : 'updated'}, ${f.skipped} skipped`);
  }
  const t = report.totals;
  lines.push(`Total: ${t.read} read, ${t.imported} ${verb}, ${t.updated} updated, ${t.skipped} skipped, ${t.temporaryPasswords} with a temporary password, ${t.needReset} need a password reset (${(report.durationMs / 1000).toFixed(1)} s)`);
  if (report.ignoredFiles.length > 0) lines.push(`Files not read: ${report.ignoredFiles.join(', ')}`);
  if (report.groupsCreated.length > 0) lines.push(`Groups created: ${report.groupsCreated.join(', ')}`);
  if (report.unmappedRoles.length > 0) {
    lines.push('Roles not mapped (add --role-map SOURCE=GATEHOUSE to carry them over):');
    for (const r of report.unmappedRoles) lines.push(`  ${r.role} (${r.holders})`);
  }
  if (report.skipped.length > 0) {
    lines.push('Skipped:');
    for (const s of report.skipped) {
      const who = [s.id, s.username, s.email].filter((x) => x !== undefined && x !== '').join(' ');
      lines.push(`  ${s.file}#${s.position} ${who || '(no id)'}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
    }
    if (report.skippedNotListed > 0) lines.push(`  … and ${report.skippedNotListed} more`);
  }
  if (report.needReset.length > 0) {
    lines.push('Imported without a usable password (reset with `gatehouse users reset-password`):');
    for (const u of report.needReset) lines.push(`  ${u.id} ${u.email}: ${u.reason}`);
  }
  return lines.join('\n') + '\n';
}
