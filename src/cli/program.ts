import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { auditCommand } from './audit.ts';
import { clientsCommand } from './clients.ts';
import { cliConfig, openForCli, withServices, type DatabaseOptions } from './context.ts';
import { defaultImportExportDeps, importExportCommands } from './import-export-commands.ts';
import { keysCommand } from './keys.ts';
import { databaseOption, jsonOption } from './options.ts';
import { printJson, printLine, type OutputOptions } from './output.ts';
import { serveCommand } from './serve.ts';
import { usersCommand } from './users.ts';

/** package.json sits two levels up from both src/cli/ and the compiled dist/cli/. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  failure: the database cannot be reached, a bad environment variable, a broken audit chain, the unexpected
  2  usage: an unknown command or flag, a missing or invalid argument or value
  3  not found: no such user, API key or client
  4  refused: a conflict or a policy (duplicate email, password policy, the last ORG-ADMIN key, the key limit)

Configuration comes from the environment (DATABASE_URL, GATEHOUSE_*: see the README); flags override it.
Every command works on the database directly, with the server running or not. docs/cli.md has the details.`;

function migrateCommand(): Command {
  return jsonOption(databaseOption(new Command('migrate')))
    .description('apply pending database migrations and exit (creates a SQLite database that does not exist yet)')
    .action(async (o: DatabaseOptions & OutputOptions) => {
      const database = await openForCli(cliConfig(o), { create: true });
      try {
        const { migrateToLatest } = await import('../store/migrate.ts');
        const results = await migrateToLatest(database.db, database.dialect, database.schema);
        if (o.json) return printJson({ applied: results.map((r) => ({ name: r.migrationName, status: r.status })) });
        if (results.length === 0) printLine('gatehouse: database already up to date');
        for (const r of results) printLine(`gatehouse: migration ${r.migrationName}: ${r.status}`);
      } finally {
        await database.close();
      }
    });
}

function rotateSigningKeyCommand(): Command {
  return jsonOption(databaseOption(new Command('rotate-signing-key')))
    .description('make a new token-signing key; the old one stays published until its tokens expire')
    .action(async (o: DatabaseOptions & OutputOptions) => {
      await withServices(o, async ({ services }) => {
        const kid = await services.signer.rotate();
        if (o.json) return printJson({ kid });
        printLine(`gatehouse: new signing key ${kid}`);
      });
    });
}

/**
 * EXTRA COMMANDS — the one place further verbs join the program (`gatehouse import …`, `gatehouse export`): add a
 * function here that adds its commands to `program`. They get the same treatment as every verb below (usage errors
 * exit 2, --help, `gatehouse: …` error lines); src/cli/context.ts (`withServices`, `cliConfig`) and
 * src/cli/exit-codes.ts (`CliError`, `EXIT`) are theirs to use.
 */
const EXTRA_COMMANDS: ((program: Command) => void)[] = [
  (program) => {
    for (const command of importExportCommands(defaultImportExportDeps())) program.addCommand(command);
  },
];

/** Settings every command needs, applied to the whole tree (subcommands built apart do not inherit them). */
function configureTree(command: Command): void {
  command
    .exitOverride()
    .showHelpAfterError()
    .configureHelp({ sortOptions: true })
    .configureOutput({ outputError: (text, write) => write(`gatehouse: ${text.replace(/^error: /, '')}`) });
  for (const sub of command.commands) configureTree(sub);
}

/** The `gatehouse` command line: every verb, ready for `parseAsync`. */
export function buildProgram(): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse, a self-hosted identity service: run the server, and administer it straight on its database')
    .version(version(), '-V, --version', 'print the version')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText('after', EXIT_CODES_HELP);
  program.addCommand(serveCommand());
  program.addCommand(migrateCommand());
  program.addCommand(rotateSigningKeyCommand());
  program.addCommand(usersCommand());
  program.addCommand(keysCommand());
  program.addCommand(clientsCommand());
  program.addCommand(auditCommand());
  for (const add of EXTRA_COMMANDS) add(program);
  configureTree(program);
  return program;
}

/** `gatehouse` alone, or with only flags (`gatehouse --port 9000`), means `gatehouse serve`. */
export function withDefaultVerb(args: string[]): string[] {
  const first = args[0];
  if (first === undefined) return ['serve'];
  if (first.startsWith('-') && !['-h', '--help', '-V', '--version'].includes(first)) return ['serve', ...args];
  return args;
}
