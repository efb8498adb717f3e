import { auditCommand, streamOutput } from './audit-command.ts';
import { clientsCommand } from './clients-command.ts';
import { loadConfig } from './config.ts';
import { createArgon2Hasher } from './security/argon2-hasher.ts';
import { createServices } from './services.ts';
import { openDatabase } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

const USAGE = `usage: gatehouse [command]

commands:
  serve      run the server (the default)
  migrate    apply pending database migrations and exit
  rotate-signing-key
             make a new token-signing key; the old one stays published until its tokens expire
  clients    register and manage the applications users sign in to (gatehouse clients help)
  audit      verify the audit trail, sign checkpoints of it, export it (gatehouse audit help)
  help       show this text

Configuration is read from the environment; see the README.`;

async function migrate(): Promise<void> {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    const results = await migrateToLatest(database.db, database.dialect, database.schema);
    if (results.length === 0) process.stdout.write('gatehouse: database already up to date\n');
    for (const r of results) process.stdout.write(`gatehouse: migration ${r.migrationName}: ${r.status}\n`);
  } finally {
    await database.close();
  }
}

async function rotateSigningKey(): Promise<void> {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(database.db, database.dialect, database.schema);
    const { signer } = await createServices(config, { database, hasher: createArgon2Hasher() });
    process.stdout.write(`gatehouse: new signing key ${await signer.rotate()}\n`);
  } finally {
    await database.close();
  }
}

const command = process.argv[2] ?? 'serve';
try {
  // The HTTP server is loaded only to serve: the other commands start faster and need none of it.
  if (command === 'serve') await (await import('./server.ts')).runServer();
  else if (command === 'migrate') await migrate();
  else if (command === 'rotate-signing-key') await rotateSigningKey();
  else if (command === 'clients') process.exitCode = await clientsCommand(loadConfig(), process.argv.slice(3), (text) => process.stdout.write(text));
  else if (command === 'audit') {
    process.exitCode = await auditCommand(loadConfig(), process.argv.slice(3), streamOutput(process.stdout), { warn: (text) => process.stderr.write(text) });
  } else if (command === 'help' || command === '--help' || command === '-h') process.stdout.write(USAGE + '\n');
  else {
    process.stderr.write(`gatehouse: unknown command "${command}"\n${USAGE}\n`);
    process.exitCode = 2;
  }
} catch (err) {
  process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
