import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

// The layers' rules, checked on the source itself so that a stray import fails the test run, not a review.

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function importsOf(source: string): string[] {
  const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g), ...source.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specifiers.map((m) => m[1]!);
}

const FORBIDDEN_IN_DOMAIN = /^(fastify|@fastify\/|kysely|pg|pg-|better-sqlite3|typebox|@sinclair\/typebox|jose)(\/|$)/;
/**
 * Packages that are data, not machinery: the domain may read them. The SCIM filter and PATCH parsers are pure
 * functions over strings and objects (no I/O, no framework), so they count as such.
 */
const DATA_PACKAGES = ['@zxcvbn-ts/language-common', 'scim2-parse-filter', 'scim-patch'];

test('src/domain imports no framework, query builder, driver or crypto library: only itself, node built-ins and data', () => {
  const domain = filesUnder(join(SRC, 'domain'));
  assert.ok(domain.length > 10, 'the domain files were found');
  const offences = domain.flatMap((file) =>
    importsOf(readFileSync(file, 'utf8'))
      .filter(
        (spec) =>
          FORBIDDEN_IN_DOMAIN.test(spec) ||
          (spec.startsWith('.') && !spec.startsWith('./')) ||
          (!spec.startsWith('.') && !spec.startsWith('node:') && !DATA_PACKAGES.includes(spec)),
      )
      .map((spec) => `${file.slice(SRC.length + 1)} imports ${spec}`),
  );
  assert.deepEqual(offences, []);
});

test('the import check itself sees static, type-only, re-exported and dynamic imports', () => {
  const sample = "import type { Kysely } from 'kysely';\nimport Fastify from 'fastify';\nexport { x } from '../store/x.ts';\nconst pg = await import('pg');";
  assert.deepEqual(importsOf(sample), ['kysely', 'fastify', '../store/x.ts', 'pg']);
});

test('no role name is written out in src outside the catalogue (routes declare permissions)', () => {
  const roles = ['ORG-ADMIN', 'ORG-AUDITOR', 'TASK-ADMIN', 'CHAT-USER', 'DEFAULT-RULE-ADMIN', 'VALIDATION-USER', 'SCIM-PROVISIONER'];
  const offences = filesUnder(SRC)
    .filter((file) => !file.endsWith(join('domain', 'access.ts')))
    .flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      return roles.filter((role) => new RegExp(`['"\`]${role}['"\`]`).test(source)).map((role) => `${file.slice(SRC.length + 1)} names ${role}`);
    });
  assert.deepEqual(offences, []);
});
