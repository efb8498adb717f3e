import { basename } from 'node:path';
import { isAssignableRole, type AssignableRole } from '../domain/access.ts';
import { emailProblem, normaliseEmail } from '../domain/email.ts';
import { uuidv7 } from '../domain/ids.ts';
import { systemClock } from '../domain/ports.ts';
import { encodeBcrypt, isStorableHash, NO_PASSWORD } from '../security/legacy-password.ts';
import { csvRecords } from './csv-records.ts';
import { newReport, type ImportReport } from './import-report.ts';
import { ImportInputError, type ImportCandidate, type ImportedUser, type SourcePosition } from './import-types.ts';
import { writeImport, type ImportRunOptions } from './write-import.ts';

/** The columns `import csv` understands; the header names them (any case; `-`, `_` and spaces alike). */
export const CSV_COLUMNS = ['id', 'email', 'first_name', 'last_name', 'enabled', 'created_at', 'roles', 'groups', 'password', 'password_hash', 'temporary_password'] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** The template documented in docs/import-export.md (a test imports it as it stands there). */
export const CSV_TEMPLATE = `email,first_name,last_name,enabled,roles,groups,password,temporary_password
ada@example.com,Ada,Lovelace,true,ORG-ADMIN,Engineering,Correct-Horse-Battery-42,false
grace@example.com,Grace,Hopper,true,TASK-ADMIN;CHAT-USER,Engineering;Navy,,
alan@example.com,Alan,Turing,true,CHAT-USER,,Initial-Password-Change-Me-7,true
bob@example.com,Bob,Example,false,CHAT-USER,,,
`;

const ALIASES: Record<string, CsvColumn> = { firstname: 'first_name', givenname: 'first_name', lastname: 'last_name', familyname: 'last_name', mail: 'email', emailaddress: 'email' };
const NAME_MAX = 100;

export interface CsvImportOptions extends ImportRunOptions {
  path: string;
  /** Header names mapped to columns (`--column "E-Mail=email"`), for files whose header uses other names. */
  columns?: readonly string[];
}

const squash = (h: string) => h.toLowerCase().replace(/[-_\s]/g, '');

function headerMap(header: string[], mapped: readonly string[], file: string): Map<CsvColumn, number> {
  const explicit = new Map<string, CsvColumn>();
  for (const entry of mapped) {
    const eq = entry.lastIndexOf('=');
    const target = entry.slice(eq + 1).trim() as CsvColumn;
    if (eq <= 0 || !CSV_COLUMNS.includes(target)) throw new ImportInputError(file, '--column', `"${entry}" is not HEADER=COLUMN with COLUMN one of ${CSV_COLUMNS.join(', ')}`);
    explicit.set(squash(entry.slice(0, eq)), target);
  }
  const byName = new Map<CsvColumn, number>();
  header.forEach((h, i) => {
    const key = squash(h);
    const column = explicit.get(key) ?? (CSV_COLUMNS.find((c) => squash(c) === key) as CsvColumn | undefined) ?? ALIASES[key];
    if (!column) throw new ImportInputError(file, 'line 1', `unknown column "${h.slice(0, 64)}" (known: ${CSV_COLUMNS.join(', ')}; map others with --column HEADER=COLUMN)`);
    if (byName.has(column)) throw new ImportInputError(file, 'line 1', `two columns are ${column}`);
    byName.set(column, i);
  });
  if (!byName.has('email')) throw new ImportInputError(file, 'line 1', 'the header has no email column');
  return byName;
}

const TRUE = new Set(['true', '1', 'yes', 'y']);
const FALSE = new Set(['false', '0', 'no', 'n', '']);

/** One row as a candidate, or the reason it is skipped. */
function rowToCandidate(get: (c: CsvColumn) => string, at: SourcePosition, now: number): ImportCandidate {
  const rawEmail = get('email').trim();
  const id = get('id').trim() || uuidv7(now);
  const who = { id: get('id').trim() || undefined, email: rawEmail.slice(0, 256) };
  const invalid = (detail: string): ImportCandidate => ({ kind: 'skip', reason: 'invalid', at, ...who, detail });
  if (rawEmail === '') return { kind: 'skip', reason: 'no_email', at, ...who };
  const email = normaliseEmail(rawEmail);
  const problem = emailProblem(email);
  if (problem) return invalid(`email: ${problem}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(id)) return invalid('id: letters, digits and . _ : @ - only, at most 128');
  const names: (string | null)[] = [];
  for (const column of ['first_name', 'last_name'] as const) {
    const v = get(column).trim();
    if ([...v].length > NAME_MAX || /\p{Cc}/u.test(v)) return invalid(`${column}: at most ${NAME_MAX} characters, no control characters`);
    names.push(v === '' ? null : v);
  }
  const flag = (column: 'enabled' | 'temporary_password', fallback: boolean): boolean | undefined => {
    const v = get(column).trim().toLowerCase();
    if (v === '') return fallback;
    return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
  };
  const enabled = flag('enabled', true);
  const temporary = flag('temporary_password', false);
  if (enabled === undefined) return invalid('enabled: true or false');
  if (temporary === undefined) return invalid('temporary_password: true or false');
  const createdRaw = get('created_at').trim();
  const createdAt = createdRaw === '' ? now : /^\d{1,15}$/.test(createdRaw) ? Number(createdRaw) : Date.parse(createdRaw);
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) return invalid('created_at: epoch milliseconds or an ISO 8601 time');
  const list = (column: 'roles' | 'groups') => [...new Set(get(column).split(';').map((s) => s.trim()).filter((s) => s !== ''))];
  const roles = list('roles');
  const unknown = roles.find((r) => !isAssignableRole(r));
  if (unknown !== undefined) return invalid(`roles: ${unknown.slice(0, 64)} is not a Gatehouse role`);
  const groups = list('groups');
  if (groups.some((g) => [...g].length > 100 || /\p{Cc}/u.test(g))) return invalid('groups: names of at most 100 characters');
  const password = get('password');
  const givenHash = get('password_hash').trim();
  if (password !== '' && givenHash !== '') return invalid('password and password_hash: give one, not both');
  const user: ImportedUser = { id, email, firstName: names[0]!, lastName: names[1]!, enabled, createdAt, passwordTemporary: temporary, roles: roles as AssignableRole[], groups };
  if (password !== '') return { kind: 'user', at, user: { ...user, password } };
  if (givenHash !== '') {
    const hash = givenHash.startsWith('$2') ? encodeBcrypt(givenHash) : isStorableHash(givenHash) ? givenHash : undefined;
    if (hash === undefined) return invalid('password_hash: not an argon2 PHC string, a bcrypt hash or a $legacy- hash');
    return { kind: 'user', at, user: { ...user, passwordHash: hash } };
  }
  return { kind: 'user', at, needsReset: 'no_password', user: { ...user, passwordHash: NO_PASSWORD, passwordTemporary: false } };
}

/**
 * `gatehouse import csv <file>`: one user a row, the header naming the columns (docs/import-export.md has the
 * template). Rows that cannot be imported are skipped and reported; a file that is not CSV, or a header with an
 * unknown column, stops the import before anything is written (ImportInputError).
 */
export async function importCsv(opts: CsvImportOptions): Promise<ImportReport> {
  const clock = opts.clock ?? systemClock;
  const file = basename(opts.path);
  const report = newReport(opts.path, 'csv', { dryRun: opts.dryRun ?? false, update: opts.update ?? false });
  const now = clock.now();
  async function* candidates(): AsyncGenerator<ImportCandidate> {
    let columns: Map<CsvColumn, number> | undefined;
    for await (const record of csvRecords(opts.path)) {
      if (!columns) {
        columns = headerMap(record.fields, opts.columns ?? [], file);
        continue;
      }
      const at = { file, position: record.line };
      if (record.fields.length !== columns.size) {
        yield { kind: 'skip', reason: 'invalid', at, detail: `${record.fields.length} fields where the header has ${columns.size}` };
        continue;
      }
      const cols = columns;
      yield rowToCandidate((c) => { const i = cols.get(c); return i === undefined ? '' : record.fields[i]!; }, at, now);
    }
    if (!columns) throw new ImportInputError(file, 'line 1', 'empty file: a CSV import needs a header line');
  }
  return writeImport(candidates(), report, { ...opts, clock });
}
