import { CommanderError } from 'commander';
import { DomainError } from './domain/errors.ts';
import { buildProgram, withDefaultVerb } from './cli/program.ts';
import { CliError, EXIT, exitCodeOf, messageOf } from './cli/exit-codes.ts';

/**
 * The `gatehouse` command (bin/gatehouse.js loads this file). Every failure ends here: one `gatehouse: …` line on
 * standard error, never a stack trace, and the exit code docs/cli.md documents.
 */
async function fail(message: string, code: number): Promise<void> {
  // Loaded only now: the store's drivers are most of the start-up cost of `--help` (see src/cli/context.ts).
  const { withoutPassword } = await import('./store/database.ts');
  // A database password may hide in a message about DATABASE_URL or --database-url: blot out both.
  const flagIndex = process.argv.indexOf('--database-url');
  const flagUrl = flagIndex > 0 ? process.argv[flagIndex + 1] : process.argv.find((a) => a.startsWith('--database-url='))?.slice('--database-url='.length);
  const clean = withoutPassword(withoutPassword(message, process.env.DATABASE_URL), flagUrl).replace(/\s*[\r\n]+\s*/g, ' ');
  process.stderr.write(`gatehouse: ${clean}\n`);
  process.exitCode = code;
}

// `gatehouse users list | head`: the reader went away, which is not a failure of the command.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

try {
  await buildProgram().parseAsync(withDefaultVerb(process.argv.slice(2)), { from: 'user' });
} catch (err) {
  // Commander has already printed its own message (and the usage) on stderr; only the exit code is left to set.
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  else if (err instanceof CliError) await fail(err.message, err.exitCode);
  else if (err instanceof DomainError) await fail(messageOf(err), exitCodeOf(err));
  else await fail(err instanceof Error ? err.message : String(err), EXIT.failure);
}
