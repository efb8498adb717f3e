import { pbkdf2Sync, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { hashRawSync, hashSync as argon2HashSync } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/**
 * Keycloak exports built the way `kc.sh export` writes them (RealmRepresentation / UserRepresentation /
 * CredentialRepresentation), with password hashes computed here from each algorithm's definition: PBKDF2 by
 * node:crypto (RFC 8018), argon2 (RFC 9106) and bcrypt by their libraries. No constant is copied from anywhere.
 */

export const ALGORITHMS = ['pbkdf2', 'pbkdf2-sha256', 'pbkdf2-sha512', 'argon2', 'argon2-phc', 'bcrypt'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
/** Keycloak 8.0+ (`secretData`/`credentialData` JSON strings) or the older `hashedSaltedValue` fields. */
export type CredentialFormat = 'modern' | 'legacy';

const PBKDF2_DIGEST = { pbkdf2: 'sha1', 'pbkdf2-sha256': 'sha256', 'pbkdf2-sha512': 'sha512' } as const;

/** A password credential for `password`. `keyLength` (bytes) defaults to Keycloak's 512 bits. */
export function credential(password: string, algorithm: Algorithm | string, format: CredentialFormat = 'modern', opts: { keyLength?: number; iterations?: number } = {}): Record<string, unknown> {
  const salt = randomBytes(16);
  let value: string;
  let iterations: number;
  let additional: Record<string, string[]> = {};
  let kcAlgorithm = algorithm;
  if (algorithm in PBKDF2_DIGEST) {
    iterations = opts.iterations ?? 1000; // small: the algorithm is the same at Keycloak's 27,500+
    value = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, opts.keyLength ?? 64, PBKDF2_DIGEST[algorithm as keyof typeof PBKDF2_DIGEST]).toString('base64');
  } else if (algorithm === 'argon2') {
    // Keycloak's own argon2 provider: raw hash and salt in secretData, parameters in additionalParameters.
    iterations = 2;
    const raw = hashRawSync(password, { algorithm: 2, version: 1, memoryCost: 1024, timeCost: iterations, parallelism: 1, outputLen: 32, salt });
    value = raw.toString('base64');
    additional = { type: ['id'], version: ['1.3'], hashLength: ['32'], memory: ['1024'], parallelism: ['1'] };
  } else if (algorithm === 'argon2-phc') {
    // A community provider: the whole PHC string is the value.
    kcAlgorithm = 'argon2';
    iterations = 2;
    value = argon2HashSync(password, { algorithm: 2, memoryCost: 1024, timeCost: 2, parallelism: 1 });
  } else if (algorithm === 'bcrypt') {
    // jBCrypt-based providers write $2a$.
    iterations = 4;
    value = bcrypt.hashSync(password, bcrypt.genSaltSync(4).replace(/^\$2b\$/, '$2a$'));
  } else {
    iterations = 1;
    value = randomBytes(16).toString('base64'); // an algorithm Gatehouse does not know
  }
  const common = { id: randomUUID(), type: 'password', userLabel: 'My password', createdDate: 1_700_000_000_000 };
  if (format === 'legacy') {
    return { ...common, hashedSaltedValue: value, salt: salt.toString('base64'), hashIterations: iterations, algorithm: kcAlgorithm, digits: 0, period: 0, config: additional };
  }
  return {
    ...common,
    secretData: JSON.stringify({ value, salt: salt.toString('base64'), additionalParameters: {} }),
    credentialData: JSON.stringify({ hashIterations: iterations, algorithm: kcAlgorithm, additionalParameters: additional }),
  };
}

export function kcUser(fields: { username: string; email?: string | undefined } & Record<string, unknown>): Record<string, unknown> {
  return {
    id: randomUUID(),
    createdTimestamp: 1_690_000_000_000,
    enabled: true,
    totp: false,
    emailVerified: true,
    firstName: 'First',
    lastName: 'Last',
    disableableCredentialTypes: [],
    requiredActions: [],
    realmRoles: ['default-roles-acme'],
    clientRoles: { account: ['manage-account'] },
    notBefore: 0,
    groups: [],
    ...fields,
  };
}

/** A realm the way Keycloak writes it: settings, roles, groups, clients around the users. */
export function realm(name: string, users: unknown[], groups: unknown[] = []): Record<string, unknown> {
  return {
    id: randomUUID(),
    realm: name,
    notBefore: 0,
    enabled: true,
    sslRequired: 'external',
    roles: { realm: [{ name: 'admin', composite: false }, { name: `default-roles-${name}`, composite: true }], client: { account: [{ name: 'manage-account' }] } },
    groups,
    defaultRole: { name: `default-roles-${name}` },
    requiredCredentials: ['password'],
    passwordPolicy: 'hashIterations(27500)',
    users,
    clients: [{ clientId: 'account', redirectUris: ['/realms/x/account/*'], attributes: { 'pkce.code.challenge.method': 'S256' } }],
    components: { 'org.keycloak.storage.UserStorageProvider': [{ name: 'ldap', config: { bindCredential: ['**********'] } }] },
    attributes: { frontendUrl: '' },
  };
}

export async function writeJson(path: string, value: unknown): Promise<string> {
  await writeFile(path, JSON.stringify(value, null, 2));
  return path;
}

/**
 * A `kc.sh export --dir` export of `count` users, `perFile` to a users file, written as a stream so that even a
 * million users never sit in memory. `make(i)` builds user i.
 */
export async function writeDirectoryExport(dir: string, realmName: string, count: number, perFile: number, make: (i: number) => unknown, groups: unknown[] = []): Promise<void> {
  const realmFile = realm(realmName, [], groups);
  delete realmFile.users;
  await writeJson(join(dir, `${realmName}-realm.json`), realmFile);
  for (let file = 0; file * perFile < count; file++) {
    const out = createWriteStream(join(dir, `${realmName}-users-${file}.json`));
    const write = async (text: string) => {
      if (!out.write(text)) await once(out, 'drain');
    };
    await write(`{\n  "realm" : "${realmName}",\n  "users" : [ `);
    const end = Math.min(count, (file + 1) * perFile);
    for (let i = file * perFile; i < end; i++) await write((i > file * perFile ? ', ' : '') + JSON.stringify(make(i), null, 2));
    await write(' ]\n}\n');
    out.end();
    await once(out, 'finish');
  }
}
