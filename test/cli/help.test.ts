import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CommanderError, type Command } from 'commander';
import { buildProgram, withDefaultVerb } from '../../src/cli/program.ts';
import { cleanEnv, failed, runCli } from './helpers/run-cli.ts';

// Every verb answers --help (exit 0, its usage on stdout); verbs that print data take --json. The texts are checked
// in-process on the real program; a few real processes check what only a process shows (exit codes, --version).

/** Every command of the program with its path of names: ['users', 'list'], …; the root is []. */
function commands(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return [{ path, command }, ...command.commands.filter((c) => c.name() !== 'help').flatMap((c) => commands(c, [...path, c.name()]))];
}

/** Parses `args` on a fresh program, capturing what it writes; help and version end in a CommanderError. */
async function parse(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  const program = buildProgram();
  let out = '';
  let err = '';
  for (const { command } of commands(program)) command.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    assert.ok(e instanceof CommanderError, String(e));
    return { out, err, exitCode: e.exitCode };
  }
  throw new Error(`gatehouse ${args.join(' ')} ran instead of showing help`);
}

const EXPECTED = [
  'serve', 'migrate', 'rotate-signing-key',
  'users list', 'users get', 'users create', 'users disable', 'users enable', 'users delete', 'users reset-password',
  'keys mint', 'keys list', 'keys deactivate',
  'clients add', 'clients list', 'clients get', 'clients rotate-secret', 'clients remove',
  'audit verify', 'audit checkpoint', 'audit export',
  'import keycloak', 'import csv', 'import jsonl', 'export',
];

// JSON Lines already, or prints no data.
const WITHOUT_JSON = new Set(['serve', 'audit export']);

describe('gatehouse --help', () => {
  const all = commands(buildProgram());
  const leaves = all.filter(({ command }) => command.commands.length === 0);

  it('has every verb of the issue', () => {
    assert.deepEqual(leaves.map(({ path }) => path.join(' ')).sort(), [...EXPECTED].sort());
  });

  it('--help on every command and verb prints its usage and exits 0', async () => {
    for (const { path, command } of all) {
      const { out, err, exitCode } = await parse([...path, '--help']);
      assert.equal(exitCode, 0, `${path.join(' ')}: ${err}`);
      assert.equal(err, '');
      assert.match(out, new RegExp(`^Usage: gatehouse${path.map((p) => ` ${p}`).join('')} `), path.join(' '));
      assert.ok(command.description().length > 0, `${path.join(' ')} is described`);
      for (const option of command.options) assert.ok(out.includes(option.flags), `${path.join(' ')} --help lists ${option.flags}`);
    }
    // `help <verb>` as well as `<verb> --help`.
    const viaHelp = await parse(['help', 'users']);
    assert.equal(viaHelp.exitCode, 0);
    assert.match(viaHelp.out, /^Usage: gatehouse users /);
  });

  it('every verb that prints data takes --json; every verb on the database takes --database-url', () => {
    for (const { path, command } of leaves) {
      const flags = command.options.map((o) => o.long);
      const name = path.join(' ');
      assert.equal(flags.includes('--json'), !WITHOUT_JSON.has(name), `${name} --json`);
      assert.ok(flags.includes('--database-url'), `${name} --database-url`);
    }
  });

  it('the top-level help documents the exit codes', async () => {
    const { out } = await parse(['--help']);
    for (const code of ['0  ok', '1  failure', '2  usage', '3  not found', '4  refused']) assert.ok(out.includes(code), code);
  });

  it('no verb, or only flags, means serve', () => {
    assert.deepEqual(withDefaultVerb([]), ['serve']);
    assert.deepEqual(withDefaultVerb(['--port', '9000']), ['serve', '--port', '9000']);
    assert.deepEqual(withDefaultVerb(['--help']), ['--help']);
    assert.deepEqual(withDefaultVerb(['-V']), ['-V']);
    assert.deepEqual(withDefaultVerb(['users', 'list']), ['users', 'list']);
  });

  it('as a process: --version, help, an unknown verb or flag (usage on stderr, exit 2), bad flag and environment values', async () => {
    const env = cleanEnv({ DATABASE_URL: 'sqlite::memory:' });
    const [version, help, unknownVerb, unknownFlag, groupAlone, badPort, badEnv] = await Promise.all([
      runCli(['--version'], env),
      runCli(['users', 'reset-password', '--help'], env),
      runCli(['frobnicate'], env),
      runCli(['--bogus'], env),
      runCli(['keys'], env),
      runCli(['--port', '80a'], env),
      runCli(['users', 'list'], { ...env, GATEHOUSE_LOG_LEVEL: 'loud' }),
    ]);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual(version, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: gatehouse users reset-password \[options\] <user>/);
    assert.equal(help.stderr, '');
    assert.match(failed(unknownVerb, 2, /unknown command 'frobnicate'/).join('\n'), /Usage: gatehouse \[options\] \[command\]/);
    assert.match(failed(unknownFlag, 2, /unknown option '--bogus'/).join('\n'), /Usage: gatehouse serve \[options\]/);
    // A group without its verb: its usage, as a usage error.
    assert.equal(groupAlone.code, 2);
    assert.match(groupAlone.stderr, /^Usage: gatehouse keys \[options\] \[command\]/);
    // A bad flag is a usage error naming the flag (before anything starts); a bad environment variable a failure naming it.
    assert.equal(failed(badPort, 2, /^gatehouse: --port \(PORT\): must be a whole number, got "80a"$/).length, 1);
    assert.equal(failed(badEnv, 1, /^gatehouse: GATEHOUSE_LOG_LEVEL must be one of /).length, 1);
  });
});
