import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { isAssignableRole, type AssignableRole } from '../domain/access.ts';
import { emailProblem, normaliseEmail } from '../domain/email.ts';
import { systemClock } from '../domain/ports.ts';
import { EXPORT_FORMAT, EXPORT_VERSION } from '../export/jsonl-export.ts';
import { isStorableHash, NO_PASSWORD } from '../security/legacy-password.ts';
import { newReport, type ImportReport } from './import-report.ts';
import { ImportInputError, type ImportCandidate, type SourcePosition } from './import-types.ts';
import { writeImport, type ImportRunOptions } from './write-import.ts';

export interface JsonlImportOptions extends ImportRunOptions {
  /** A file written by `gatehouse export` (with `--include-hashes`, the users keep their passwords). */
  path: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const text = (v: unknown, max: number): string | null | undefined =>
  v === null || v === undefined ? null : typeof v === 'string' && [...v].length <= max && !/\p{Cc}/u.test(v) ? v : undefined;
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);

function groupLine(o: Record<string, unknown>, at: SourcePosition, file: string): ImportCandidate {
  const name = text(o.name, 100);
  const roles = strings(o.roles ?? []);
  const description = text(o.description, 1000);
  if (!name || roles === undefined || description === undefined || (o.id !== undefined && (typeof o.id !== 'string' || !ID.test(o.id)))) {
    throw new ImportInputError(file, `line ${at.position}`, 'a group line needs a name (1-100 characters), roles (an array of role names) and an optional id and description');
  }
  const unknown = roles.find((r) => !isAssignableRole(r));
  if (unknown !== undefined) throw new ImportInputError(file, `line ${at.position}`, `group ${name}: ${unknown.slice(0, 64)} is not a Gatehouse role`);
  return { kind: 'group', at, group: { name, roles: roles as AssignableRole[], id: o.id as string | undefined, description } };
}

function userLine(o: Record<string, unknown>, at: SourcePosition, now: number): ImportCandidate {
  const id = typeof o.id === 'string' ? o.id : undefined;
  const rawEmail = typeof o.email === 'string' ? o.email : undefined;
  const who = { id: id?.slice(0, 128), email: rawEmail?.slice(0, 256) };
  const invalid = (detail: string): ImportCandidate => ({ kind: 'skip', reason: 'invalid', at, ...who, detail });
  if (id === undefined || !ID.test(id)) return invalid('id: missing or unusable');
  if (rawEmail === undefined || rawEmail === '') return { kind: 'skip', reason: 'no_email', at, ...who };
  const email = normaliseEmail(rawEmail);
  const problem = emailProblem(email);
  if (problem) return invalid(`email: ${problem}`);
  const firstName = text(o.first_name, 100);
  const lastName = text(o.last_name, 100);
  if (firstName === undefined || lastName === undefined) return invalid('first_name, last_name: text of at most 100 characters');
  const roles = strings(o.roles ?? []);
  const groups = strings(o.groups ?? []);
  if (roles === undefined || groups === undefined) return invalid('roles, groups: arrays of names');
  const unknown = roles.find((r) => !isAssignableRole(r));
  if (unknown !== undefined) return invalid(`roles: ${unknown.slice(0, 64)} is not a Gatehouse role`);
  const createdAt = typeof o.created_at === 'number' && Number.isSafeInteger(o.created_at) && o.created_at >= 0 ? o.created_at : now;
  const base = {
    id,
    email,
    firstName,
    lastName,
    enabled: o.enabled !== false,
    createdAt,
    roles: [...new Set(roles)] as AssignableRole[],
    groups: [...new Set(groups)],
    passwordTemporary: o.password_temporary === true,
  };
  if (o.password_hash === undefined) return { kind: 'user', at, needsReset: 'no_password (exported without --include-hashes)', user: { ...base, passwordHash: NO_PASSWORD, passwordTemporary: false } };
  if (typeof o.password_hash !== 'string' || !isStorableHash(o.password_hash)) return invalid('password_hash: not a hash Gatehouse stores');
  const none = o.password_hash === NO_PASSWORD;
  return { kind: 'user', at, ...(none ? { needsReset: 'no_password' } : {}), user: { ...base, passwordHash: o.password_hash } };
}

/**
 * `gatehouse import jsonl <file>`: the other half of `gatehouse export`, into this (usually empty) instance: groups
 * with their ids and roles, users with their ids, roles, groups and — if the export has them — password hashes, so
 * the same people sign in with the same passwords. Read line by line (constant memory).
 */
export async function importJsonl(opts: JsonlImportOptions): Promise<ImportReport> {
  const clock = opts.clock ?? systemClock;
  const file = basename(opts.path);
  const report = newReport(opts.path, 'jsonl', { dryRun: opts.dryRun ?? false, update: opts.update ?? false });
  const now = clock.now();
  async function* candidates(): AsyncGenerator<ImportCandidate> {
    const stream = createReadStream(opts.path, { encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let n = 0;
    let headerSeen = false;
    try {
      for await (const line of lines) {
        n += 1;
        if (line.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (err) {
          throw new ImportInputError(file, `line ${n}`, `malformed JSON: ${(err as Error).message}`);
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ImportInputError(file, `line ${n}`, 'each line must be a JSON object');
        const o = value as Record<string, unknown>;
        const at = { file, position: n };
        if (!headerSeen) {
          if (o.type !== EXPORT_FORMAT) throw new ImportInputError(file, `line ${n}`, `not a Gatehouse export: the first line must have "type": "${EXPORT_FORMAT}"`);
          if (o.version !== EXPORT_VERSION) throw new ImportInputError(file, `line ${n}`, `export version ${String(o.version).slice(0, 20)} is not supported (this Gatehouse reads version ${EXPORT_VERSION})`);
          headerSeen = true;
        } else if (o.type === 'group') {
          yield groupLine(o, at, file);
        } else if (o.type === 'user') {
          yield userLine(o, at, now);
        } else {
          throw new ImportInputError(file, `line ${n}`, `unknown line type ${JSON.stringify(o.type)?.slice(0, 40)} (expected group or user)`);
        }
      }
    } catch (err) {
      if (err instanceof ImportInputError) throw err;
      throw new ImportInputError(file, n === 0 ? 'open' : `line ${n}`, (err as Error).message);
    } finally {
      lines.close();
      stream.destroy();
    }
    if (!headerSeen) throw new ImportInputError(file, 'line 1', 'empty file: not a Gatehouse export');
  }
  return writeImport(candidates(), report, { ...opts, clock });
}
