/**
 * `gatehouse import keycloak|csv|jsonl` and `gatehouse export` (docs/import-export.md), built with commander.
 *
 * Wiring: `importExportCommands(deps)` returns the `import` and `export` commands, to add to the program. `deps`
 * is what they need from outside:
 * - `openDatabase(options)`: the configured database, migrated, with the audit writer whose events name who ran the
 *   command, and `close()`. `defaultImportExportDeps()` builds it from src/cli/context.ts (DATABASE_URL or
 *   `--database-url`, the CLI's actor).
 * - `hasher`: Gatehouse's argon2id hasher (passwords a source gives in clear are hashed with it).
 * - `stdout`, `stderr`: where output goes (tests pass their own).
 *
 * Exit codes: 0 success (the report is printed; skipped users are listed, they are not an error); 1 failure (a file
 * that cannot be read or is malformed — named with the place in it — or the database); 2 usage (a bad flag or
 * `--role-map`). Failures are thrown as CliError (src/cli/exit-codes.ts), which the program turns into one
 * `gatehouse: …` line and the exit code. `--json` prints exactly one JSON document (the report) on stdout; the
 * progress line goes to stderr, and only on a terminal.
 */
import { chmod, open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { Command } from 'commander';
import type { PasswordHasher } from '../domain/ports.ts';
import { formatReport, type ImportReport } from '../import/import-report.ts';
import { ImportInputError } from '../import/import-types.ts';
import { progressLine } from '../import/progress.ts';
import { parseRoleMap, RoleMapError } from '../import/role-map.ts';
import type { AuditWriter } from '../store/audit-store.ts';
import type { Database } from '../store/database.ts';
import { cliActor, cliConfig, openForCli, type DatabaseOptions } from './context.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { collect, databaseOption, jsonOption } from './options.ts';

export interface OpenedDatabase {
  database: Database;
  /** Writes the run's audit event; absent: events without an actor (system). */
  audit?: AuditWriter;
  close(): Promise<void>;
}

export interface ImportExportDeps {
  openDatabase(options: DatabaseOptions): Promise<OpenedDatabase>;
  hasher: PasswordHasher;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
}

/** The deps as the `gatehouse` program has them: DATABASE_URL (or --database-url), migrated, the CLI's actor. */
export function defaultImportExportDeps(): ImportExportDeps {
  return {
    async openDatabase(options) {
      const [{ migrateToLatest }, { createAuditWriter }] = await Promise.all([import('../store/migrate.ts'), import('../store/audit-store.ts')]);
      const database = await openForCli(cliConfig(options));
      try {
        await migrateToLatest(database.db, database.dialect, database.schema);
      } catch (err) {
        await database.close();
        throw err;
      }
      const actor = cliActor();
      const audit = createAuditWriter(database.dialect, { requestMeta: () => ({ actor, requestId: null, clientIp: null, userAgent: 'gatehouse-cli' }) });
      return { database, audit, close: () => database.close() };
    },
    hasher: lazyHasher(),
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

/**
 * Gatehouse's argon2id hasher, loaded at its first use: the importers and their stores are loaded only by the verb
 * that runs them too, so `gatehouse --help` and every other verb start without them.
 */
function lazyHasher(): PasswordHasher {
  let loaded: Promise<PasswordHasher> | undefined;
  const get = () => (loaded ??= import('../security/argon2-hasher.ts').then((m) => m.createArgon2Hasher()));
  return { hash: async (password) => (await get()).hash(password), verify: async (hash, password) => (await get()).verify(hash, password) };
}

interface ImportFlags extends DatabaseOptions {
  update?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** Runs an import on the opened database, turning its errors into exit codes, and prints the report. */
async function runImport(deps: ImportExportDeps, flags: ImportFlags, run: (common: { database: Database; audit?: AuditWriter; onProgress: (n: number) => void }) => Promise<ImportReport>): Promise<void> {
  const progress = progressLine(deps.stderr, 'users read');
  let report: ImportReport;
  try {
    const opened = await deps.openDatabase(flags);
    try {
      report = await run({ database: opened.database, ...(opened.audit ? { audit: opened.audit } : {}), onProgress: (n) => progress.update(n) });
    } finally {
      progress.finish();
      await opened.close();
    }
  } catch (err) {
    throw asCliError(err);
  }
  deps.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
}

function asCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof RoleMapError) return new CliError(err.message, EXIT.usage);
  if (err instanceof ImportInputError) return new CliError(`${err.message} (nothing was imported)`, EXIT.failure);
  return new CliError(`import failed, nothing was imported: ${err instanceof Error ? err.message : String(err)}`, EXIT.failure);
}

function importOptions(command: Command): Command {
  return jsonOption(databaseOption(command))
    .option('--update', 'update users already imported (same id) instead of skipping them')
    .option('--dry-run', 'check everything and print the report, but write nothing');
}

export function importExportCommands(deps: ImportExportDeps): Command[] {
  const importCommand = new Command('import').description('bring users in: from a Keycloak export, a CSV file, or a Gatehouse export (JSON Lines)');

  importOptions(importCommand.command('keycloak'))
    .description('import the users of a Keycloak export (kc.sh export): a realm file, a JSON array of realms, or an export directory')
    .argument('<path>', 'the realm file or export directory')
    .option('--role-map <SOURCE=GATEHOUSE>', 'map a Keycloak realm role to a Gatehouse role (repeat, or a comma list)', collect)
    .option('--realm <name>', 'only this realm (default: every realm of the export)')
    .action(async (path: string, o: ImportFlags & { roleMap?: string[]; realm?: string }) => {
      let roleMap;
      try {
        roleMap = parseRoleMap(o.roleMap ?? []);
      } catch (err) {
        throw asCliError(err);
      }
      const { importKeycloak } = await import('../import/keycloak-import.ts');
      await runImport(deps, o, (common) =>
        importKeycloak({ ...common, path, roleMap, hasher: deps.hasher, update: o.update ?? false, dryRun: o.dryRun ?? false, ...(o.realm !== undefined ? { realm: o.realm } : {}) }),
      );
    });

  importOptions(importCommand.command('csv'))
    .description('import users from a CSV file whose header names the columns (template: docs/import-export.md)')
    .argument('<file>', 'the CSV file')
    .option('--column <HEADER=COLUMN>', 'read a differently named header as one of the known columns (repeat)', collect)
    .action(async (file: string, o: ImportFlags & { column?: string[] }) => {
      const { importCsv } = await import('../import/csv-import.ts');
      await runImport(deps, o, (common) => importCsv({ ...common, path: file, columns: o.column ?? [], hasher: deps.hasher, update: o.update ?? false, dryRun: o.dryRun ?? false }));
    });

  importOptions(importCommand.command('jsonl'))
    .description('import a file written by gatehouse export (users keep their passwords if it was written with --include-hashes)')
    .argument('<file>', 'the export file')
    .action(async (file: string, o: ImportFlags) => {
      const { importJsonl } = await import('../import/jsonl-import.ts');
      await runImport(deps, o, (common) => importJsonl({ ...common, path: file, hasher: deps.hasher, update: o.update ?? false, dryRun: o.dryRun ?? false }));
    });

  const exportCommand = jsonOption(databaseOption(new Command('export')))
    .description('write every group and user as JSON Lines (to move them to another instance: gatehouse import jsonl)')
    .option('--include-hashes', 'SENSITIVE: include password hashes, so users keep their passwords (guard the file like the database)')
    .option('--output <file>', 'write to this file (created owner-only) instead of standard output')
    .action(async (o: DatabaseOptions & { includeHashes?: boolean; output?: string; json?: boolean }) => {
      const includeHashes = o.includeHashes ?? false;
      const { exportJsonl } = await import('../export/jsonl-export.ts');
      if (includeHashes) deps.stderr.write('gatehouse: WARNING: the export holds password hashes; anyone with the file can attack them offline. Keep it like the database, delete it after the move.\n');
      // The data goes to stdout unless --output: then the summary goes to stderr, so stdout stays pure JSON Lines.
      const summaryTo = o.output !== undefined ? deps.stdout : deps.stderr;
      const progress = progressLine(deps.stderr, 'users written');
      let summary;
      try {
        const opened = await deps.openDatabase(o);
        const file = o.output !== undefined ? await open(o.output, 'w', 0o600) : undefined;
        try {
          if (file) await chmod(o.output!, 0o600); // an existing file keeps its mode on open: made owner-only too
          const output = file ? file.createWriteStream() : deps.stdout;
          summary = await exportJsonl({ database: opened.database, output, includeHashes, onProgress: (n) => progress.update(n) });
          if (file) await new Promise<void>((resolve, reject) => (output as NodeJS.WritableStream).end(() => resolve()).on?.('error', reject));
        } finally {
          progress.finish();
          await file?.close().catch(() => {});
          await opened.close();
        }
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`export failed: ${err instanceof Error ? err.message : String(err)}`, EXIT.failure);
      }
      summaryTo.write(o.json ? JSON.stringify(summary) + '\n' : `gatehouse: exported ${summary.users} users and ${summary.groups} groups${includeHashes ? ' with password hashes' : ' (no password hashes)'}${o.output ? ` to ${o.output}` : ''}\n`);
    });

  return [importCommand, exportCommand];
}
