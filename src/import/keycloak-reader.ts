import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { parser } from 'stream-json';
import Assembler from 'stream-json/assembler.js';
import { ImportInputError } from './import-types.ts';

/**
 * Reads what `kc.sh export` writes, streaming: a realm file (`{"realm": …, "groups": […], "users": […]}`), a JSON
 * array of realms, or a directory of `<realm>-realm.json` and `<realm>-users-<N>.json` files. Only one user object is
 * held at a time (and each realm's `groups` tree); everything else in the file is skipped token by token, so a
 * million-user export is read in constant memory.
 */
export type KeycloakItem =
  | { kind: 'realm'; realm: string; file: string }
  | { kind: 'groups'; realm: string | null; groups: unknown; file: string }
  | { kind: 'user'; realm: string | null; raw: unknown; file: string; position: number };

interface Token {
  name: string;
  value?: string;
}

/** The files of an export, in the order they are read: each realm's realm file, then its users files by number. */
export async function exportFiles(path: string): Promise<{ files: string[]; ignored: string[] }> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new ImportInputError(path, 'open', (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : String((err as Error).message));
  }
  if (!info.isDirectory()) return { files: [path], ignored: [] };
  const names = (await readdir(path)).filter((n) => n.endsWith('.json')).sort();
  const order = (name: string): [string, number] | undefined => {
    const realm = /^(.+)-realm\.json$/.exec(name);
    if (realm) return [realm[1]!, -1];
    const users = /^(.+)-users-(\d+)\.json$/.exec(name);
    if (users && !users[1]!.endsWith('-federated')) return [users[1]!, Number(users[2])];
    return undefined;
  };
  const files = names.flatMap((n) => (order(n) ? [n] : []));
  files.sort((a, b) => {
    const [ra, na] = order(a)!;
    const [rb, nb] = order(b)!;
    return ra < rb ? -1 : ra > rb ? 1 : na - nb;
  });
  if (files.length === 0) throw new ImportInputError(path, 'directory', 'no <realm>-realm.json or <realm>-users-<N>.json files in it');
  return { files: files.map((n) => join(path, n)), ignored: names.filter((n) => !order(n)) };
}

/**
 * Files up to this size are parsed at once by the native JSON parser (their users are held only while that file
 * is imported, so memory stays bounded by the size of one file); larger files are streamed token by token.
 * `kc.sh export --dir` writes 50 users a file by default, so a large export is many small files.
 */
export const PARSE_WHOLE_BELOW = 8 * 2 ** 20;

/** Every realm, group tree and user of one export file, in file order. */
export async function* readKeycloakFile(file: string, parseWholeBelow = PARSE_WHOLE_BELOW): AsyncGenerator<KeycloakItem> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new ImportInputError(basename(file), 'open', (err as Error).message);
  }
  if (size < parseWholeBelow) yield* readWhole(file);
  else yield* readStreaming(file);
}

function* realmItems(value: unknown, name: string): Generator<KeycloakItem> {
  if (value === null || typeof value !== 'object' || (Array.isArray(value) && value.some((r) => r === null || typeof r !== 'object' || Array.isArray(r)))) {
    throw new ImportInputError(name, 'byte 0', 'not a Keycloak export: the file holds neither a realm object nor an array of realms');
  }
  let position = 0;
  for (const r of (Array.isArray(value) ? value : [value]) as Record<string, unknown>[]) {
    const realm = typeof r.realm === 'string' ? r.realm : null;
    if (realm !== null) yield { kind: 'realm', realm, file: name };
    if (r.groups !== undefined) yield { kind: 'groups', realm, groups: r.groups, file: name };
    if (Array.isArray(r.users)) for (const raw of r.users) yield { kind: 'user', realm, raw, file: name, position: ++position };
  }
}

async function* readWhole(file: string): AsyncGenerator<KeycloakItem> {
  const name = basename(file);
  let value: unknown;
  try {
    const text = await readFile(file, 'utf8');
    if (text.trim() === '') throw new ImportInputError(name, 'byte 0', 'empty file: not a Keycloak export');
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    if (err instanceof ImportInputError) throw err;
    if (err instanceof SyntaxError) throw new ImportInputError(name, 'parse', `malformed JSON: ${err.message}`);
    throw new ImportInputError(name, 'open', (err as Error).message);
  }
  yield* realmItems(value, name);
}

async function* readStreaming(file: string): AsyncGenerator<KeycloakItem> {
  const name = basename(file);
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const source = createReadStream(file);
  const tokens = source.pipe(counter).pipe(parser.asStream({ packValues: true, streamValues: false }));
  source.on('error', (err) => tokens.destroy(err));

  let depth = 0; // containers open before the current token
  let realmDepth = -1; // depth of a realm object's keys
  let usersDepth = -1; // depth of the users array's elements
  let key: string | null = null;
  let realm: string | null = null;
  let position = 0;
  let capture: { asm: Assembler; kind: 'user' | 'groups' } | null = null;

  const fail = (problem: string) => new ImportInputError(name, `byte ${bytes}${position > 0 ? `, after user ${position}` : ''}`, problem);

  try {
    for await (const tok of tokens as AsyncIterable<Token>) {
      const opens = tok.name === 'startObject' || tok.name === 'startArray';
      const closes = tok.name === 'endObject' || tok.name === 'endArray';
      if (capture) {
        capture.asm.consume(tok as never);
        if (opens) depth += 1;
        if (closes) depth -= 1;
        if (capture.asm.done) {
          const value = capture.asm.current;
          if (capture.kind === 'user') yield { kind: 'user', realm, raw: value, file: name, position };
          else yield { kind: 'groups', realm, groups: value, file: name };
          capture = null;
        }
        continue;
      }
      if (opens) {
        if (depth === 0) {
          realmDepth = tok.name === 'startObject' ? 1 : 2;
        } else if (depth === realmDepth - 1 && tok.name === 'startObject') {
          realm = null; // the next realm of an array of realms
        } else if (depth === realmDepth && key === 'users' && tok.name === 'startArray') {
          usersDepth = depth + 1;
        } else if (depth === usersDepth || (depth === realmDepth && key === 'groups')) {
          if (depth === usersDepth) position += 1;
          capture = { asm: new Assembler(), kind: depth === usersDepth ? 'user' : 'groups' };
          capture.asm.consume(tok as never);
        }
        depth += 1;
        continue;
      }
      if (closes) {
        depth -= 1;
        if (depth < usersDepth) usersDepth = -1;
        continue;
      }
      if (depth === 0) throw fail('not a Keycloak export: the file holds neither a realm object nor an array of realms');
      if (tok.name === 'keyValue') {
        if (depth === realmDepth) key = tok.value ?? null;
      } else if (depth === realmDepth && key === 'realm' && tok.name === 'stringValue') {
        realm = tok.value ?? null;
        yield { kind: 'realm', realm: realm!, file: name };
      } else if (depth === usersDepth) {
        position += 1;
        yield { kind: 'user', realm, raw: tok.value ?? null, file: name, position }; // not an object: reported as invalid
      } else if (depth === realmDepth - 1) {
        throw fail('not a Keycloak export: an array of realms holds something that is not a realm object');
      }
    }
  } catch (err) {
    if (err instanceof ImportInputError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') throw new ImportInputError(name, 'open', e.message);
    throw fail(`malformed JSON: ${e.message}`);
  } finally {
    tokens.destroy();
    source.destroy();
  }
  if (realmDepth === -1) throw fail('empty file: not a Keycloak export');
}
