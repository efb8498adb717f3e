import { InvalidArgumentError, type Command } from 'commander';

/** `--database-url`, on every verb that works on the database: it overrides DATABASE_URL. */
export function databaseOption(command: Command): Command {
  return command.option('--database-url <url>', 'the database to work on (overrides DATABASE_URL)');
}

export function jsonOption(command: Command): Command {
  return command.option('--json', 'print one JSON document on standard output, for scripts');
}

/** A commander argument parser for a whole number within bounds: anything else is a usage error (exit 2). */
export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return Number(value);
  };
}

/** For repeatable flags (`--role A --role B`). */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Reads the whole of standard input (a password piped in), without its final line break. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
