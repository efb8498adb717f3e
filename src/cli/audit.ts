import { Command } from 'commander';
import type { Config } from '../config.ts';
import type { Database } from '../store/database.ts';
import { cliConfig, openForCli, type DatabaseOptions } from './context.ts';
import { CliError, EXIT, usageError } from './exit-codes.ts';
import { databaseOption, jsonOption } from './options.ts';
import { printJson, type OutputOptions } from './output.ts';

type Options = DatabaseOptions & OutputOptions;

/** The audit verbs read (and, for a checkpoint, sign); none writes an event, so none names an actor. */
async function onDatabase<T>(o: DatabaseOptions, work: (database: Database, config: Readonly<Config>) => Promise<T>): Promise<T> {
  const config = cliConfig(o);
  const database = await openForCli(config);
  try {
    const { migrateToLatest } = await import('../store/migrate.ts');
    await migrateToLatest(database.db, database.dialect, database.schema);
    return await work(database, config);
  } finally {
    await database.close();
  }
}

// Loaded when a verb runs (it brings the services): see src/cli/context.ts.
const auditWork = () => import('../audit-command.ts');

/** A problem with the command's own input (a checkpoint file that cannot be read or is not valid) is a failure, 1. */
const failure = (err: unknown) => (err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err), EXIT.failure));

/**
 * `gatehouse audit …`: checks, vouches for and exports the audit trail, straight on the database (no running server
 * needed). The work is src/audit-command.ts's; this is its command line.
 */
export function auditCommand(): Command {
  const audit = new Command('audit').description('verify the audit trail, sign checkpoints of it, export it');

  jsonOption(databaseOption(audit.command('verify')))
    .description('check the whole chain from its anchor to its head; names the first modified, missing or reordered event (exit 1)')
    .option('--checkpoint <file>', 'a checkpoint printed earlier by gatehouse audit checkpoint: also catch the newest events being cut off')
    .action(async (o: Options & { checkpoint?: string }) => {
      const { verifyAudit, verifyReportLine } = await auditWork();
      const report = await onDatabase(o, (database, config) => verifyAudit(config, database, o.checkpoint)).catch((err: unknown) => {
        throw failure(err);
      });
      if (o.json) printJson(report);
      else {
        if (report.warning !== null) process.stderr.write(`gatehouse: ${report.warning}\n`);
        process.stdout.write(verifyReportLine(report));
      }
      if (!report.ok) process.exitCode = EXIT.failure;
    });

  jsonOption(databaseOption(audit.command('checkpoint')))
    .description("print a signed checkpoint of the chain's head (a JWS); keep it away from this database")
    .action(async (o: Options) => {
      const { checkpointAudit } = await auditWork();
      const made = await onDatabase(o, (database, config) => checkpointAudit(config, database)).catch((err: unknown) => {
        throw failure(err);
      });
      if (o.json) printJson({ checkpoint: made.checkpoint, seq: made.seq, hash: made.hash, at: new Date(made.at).toISOString() });
      else process.stdout.write(`${made.checkpoint}\n`);
    });

  databaseOption(audit.command('export'))
    .description('the events in sequence order, one JSON object a line (JSON Lines, as GET /audit/export)')
    .option('--from <time>', 'events at or after this ISO 8601 time, e.g. 2026-12-01 or 2026-12-01T12:00:00Z')
    .option('--to <time>', 'events before this ISO 8601 time')
    .action(async (o: DatabaseOptions & { from?: string; to?: string }) => {
      const { exportEvents, parseAuditTime, streamOutput } = await auditWork();
      let from: number | undefined;
      let to: number | undefined;
      try {
        from = parseAuditTime('--from', o.from);
        to = parseAuditTime('--to', o.to);
      } catch (err) {
        throw usageError((err as Error).message);
      }
      await onDatabase(o, (database) => exportEvents(database, from, to, streamOutput(process.stdout)));
    });

  return audit;
}
