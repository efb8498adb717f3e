// `npm run seed -- --users N [--force]`: grows the database at DATABASE_URL to N synthetic benchmark users.
// Bench data only. It refuses to touch a database that holds users it did not make, unless --force.
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { uuidv7 } from '../src/domain/ids.ts';
import { createArgon2Hasher } from '../src/security/argon2-hasher.ts';
import { bulkTarget } from '../src/store/bulk-load.ts';
import { openDatabase } from '../src/store/database.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { SEED_SUFFIX, seedPerson } from './seed-data.ts';

/** Every seeded user has this password (hashed once, with the production parameters), so benchmarks can log in. */
export const SEED_PASSWORD = 'Seeded-Bench-Password-1';
// Seed user n was "created" at this instant plus n milliseconds: distinct, ordered, and stable across runs.
const SEED_EPOCH = Date.UTC(2025, 0, 1);

const { values } = parseArgs({ options: { users: { type: 'string' }, force: { type: 'boolean', default: false } } });
const wanted = Number(values.users);
if (!Number.isInteger(wanted) || wanted < 0) {
  process.stderr.write('usage: npm run seed -- --users N [--force]\n');
  process.exit(2);
}

const config = loadConfig();
const database = openDatabase(config.databaseUrl, { poolSize: 2 });
await migrateToLatest(database.db, database.dialect, database.schema);
await database.close();

const target = bulkTarget(config.databaseUrl);
try {
  const others = await target.countOthers(SEED_SUFFIX);
  if (others > 0 && !values.force) {
    process.stderr.write(`seed: refusing: the database holds ${others} users that seeding did not create (use --force)\n`);
    process.exit(3);
  }
  const existing = await target.countWithSuffix(SEED_SUFFIX);
  if (existing >= wanted) {
    process.stdout.write(`seed: ${existing} seed users already there\n`);
  } else {
    const passwordHash = await createArgon2Hasher().hash(SEED_PASSWORD);
    const started = Date.now();
    let lastReport = 0;
    await target.load(
      wanted - existing,
      (i) => {
        const n = existing + i;
        const person = seedPerson(n);
        const createdAt = SEED_EPOCH + n;
        return { id: uuidv7(createdAt), ...person, passwordHash, roles: [n % 10 === 0 ? 'TASK-ADMIN' : 'CHAT-USER'], createdAt };
      },
      (done) => {
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          process.stdout.write(`seed: ${existing + done} / ${wanted}\n`);
        }
      },
    );
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`seed: ${wanted - existing} users added in ${seconds.toFixed(1)} s (${wanted} in all)\n`);
  }
} finally {
  await target.close();
}
