/**
 * Generators shared by the fuzz suites (test/fuzz/*.test.ts): hostile values, mutated JSON bodies, raw byte bodies,
 * content types, Authorization headers and cookies, query strings and path ids. Values that would print as huge
 * blobs in a fast-check counterexample (long strings, deep nesting) print as a short description instead.
 *
 * Longer runs: FUZZ_RUNS=<multiplier> (default 1) multiplies every suite's run count, e.g. `FUZZ_RUNS=10 node
 * scripts/run-tests.mjs test/fuzz/users.test.ts`; FUZZ_SEED=<n> replays a seed fast-check printed; FUZZ_SURVEY=1 lists
 * every kind of violation of a run instead of stopping at the first (test/fuzz/harness.ts).
 */
import fc from 'fast-check';

const multiplier = (() => {
  const raw = process.env.FUZZ_RUNS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`FUZZ_RUNS must be a positive number (a multiplier), got "${raw}"`);
  return n;
})();

/** fast-check parameters for a property that sends one request per run: `base` runs times FUZZ_RUNS. */
export function fuzzParams(base: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED;
  return { numRuns: Math.max(1, Math.round(base * multiplier)), includeErrorInReport: true, ...(seed ? { seed: Number(seed) } : {}) };
}

/** JSON text written verbatim (numbers JSON.stringify cannot write, deep nesting), printed briefly. */
export class RawJson {
  constructor(
    readonly text: string,
    readonly label: string = text,
  ) {}
  [fc.toStringMethod](): string {
    return `RawJson(${this.label})`;
  }
}

/** A long string, built when the request is, printed as its recipe. */
export class Huge {
  constructor(
    readonly unit: string,
    readonly length: number,
  ) {}
  get value(): string {
    return this.unit.repeat(Math.ceil(this.length / this.unit.length)).slice(0, this.length);
  }
  [fc.toStringMethod](): string {
    return `Huge(${JSON.stringify(this.unit)} x ${this.length})`;
  }
}

/** Writes a generated value as JSON text, RawJson and Huge included. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof Huge) return JSON.stringify(value.value);
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A string value in plain form (for query strings, headers, form bodies). */
export const plain = (v: unknown): string => (v instanceof Huge ? v.value : v instanceof RawJson ? v.text : String(v));

export const NASTY_STRINGS = [
  '', ' ', '  \t\n ', "' OR '1'='1", "'; DROP TABLE users; --", '" OR ""="', '%', '_', '%_%', '\\', '\\%', '*', '"', "'",
  '`', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\udc00y', '😀', '👩‍👩‍👧', 'ǅ', 'İ', 'ß', 'ﬁ', '\u202e', '\ufeff', '\u00a0',
  '\u2028', '\r\n', '../../etc/passwd', '..%2f..%2f', '%00', '%2e%2e', '${jndi:ldap://x/a}', '{{7*7}}', '<script>x</script>',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'null', 'undefined', 'true', 'NaN', 'NEAR(a b)',
  'a OR b', '"a" AND "b"', '^a*', 'ORG-ADMIN', 'org-admin', 'ADMIN-KEY', 'Ab1!Ab1!Ab1!', 'Password123!', 'é', 'Ω≈ç√',
  '𝓤𝓷𝓲𝓬𝓸𝓭𝓮', 'a@b.co', ' ADA@Example.COM ', 'a@b', '@', 'a@@b.co', 'a@[127.0.0.1]', '"q"@b.co', 'x'.repeat(64) + '@b.co',
];

/** Numbers at the edges, written as JSON text (so -0, 1e999 and 2**53+1 arrive exactly as typed). */
export const EDGE_NUMBER_TEXTS = [
  '0', '-0', '0.0', '-0.0', '1', '-1', '1e308', '-1e308', '1e309', '-1e999', '5e-324', '1e-400', '9007199254740991',
  '9007199254740992', '9007199254740993', '-9007199254740993', '2147483647', '2147483648', '-2147483649', '4294967296',
  '18446744073709551616', '1.5', '0.1', '1E2', '1e+2', '4999.9999999999999', '5000', '5001', '12', '256', '257',
  '123456789012345678901234567890',
];

/** Numeric-looking and boolean-looking strings (query parameters arrive as text and are coerced). */
export const NUMERIC_STRINGS = [
  'NaN', 'Infinity', '-Infinity', '1e308', '1e400', '-0', '+1', ' 1', '1 ', '0x10', '0b1', '0o7', '1_000', '1,5', '1.0', '1.5',
  '1e3', '-1', '0', '00', '007', '9007199254740993', '4999', '5000', '5001', '10', '٣', '１', 'true', 'false', 'null', '',
  '[]', '{}', '1;2', '1%00',
];

export const edgeNumber = fc.constantFrom(...EDGE_NUMBER_TEXTS).map((t) => new RawJson(t));
export const nastyString = fc.constantFrom(...NASTY_STRINGS);

/** Strings of every kind: short random unicode (lone surrogates included), nasty constants, and long ones. */
export const anyString: fc.Arbitrary<string | Huge> = fc.oneof(
  { arbitrary: nastyString, weight: 4 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: fc.constantFrom('\ud800', '\udfff', '\u0000', '%', '_', '"', '\\', 'é', '😀', ' ', 'a'), maxLength: 12 }), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '😀', '%', '\u0000', 'Ab1!'), fc.constantFrom(101, 201, 255, 257, 1025, 5000, 40_000, 70_000))
      .map(([unit, n]) => new Huge(unit, n)),
    weight: 1,
  },
);

/** Nesting far past anything a client sends: arrays or objects `depth` levels deep, written as text. */
export const deepJson = (maxDepth: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: maxDepth }), fc.constantFrom('array', 'object', 'mixed'))
    .map(([depth, kind]) => {
      const open = kind === 'array' ? '[' : kind === 'object' ? '{"a":' : '[{"a":';
      const close = kind === 'array' ? ']' : kind === 'object' ? '}' : '}]';
      const levels = kind === 'mixed' ? Math.ceil(depth / 2) : depth;
      return new RawJson(open.repeat(levels) + '1' + close.repeat(levels), `${kind} nested ${depth} deep`);
    });

/** Any JSON value a field could be replaced with. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, [], {}, [null], { '': '' }),
  edgeNumber,
  anyString,
  fc.constantFrom(...NUMERIC_STRINGS),
  fc.array(anyString, { maxLength: 4 }),
  fc.constantFrom(new RawJson('{"__proto__":{"admin":true}}'), new RawJson('{"constructor":{"prototype":{"x":1}}}')),
  fc.jsonValue({ maxDepth: 3 }),
  deepJson(50),
);

/**
 * Values of secret fields (password, refresh_token...) never equal a string another field could echo back: the leak
 * check in test/helpers/app.ts would rightly flag an error body that contains one, so strings of 8+ characters (the
 * ones it watches) carry a marker.
 */
export function markSecret(v: unknown): unknown {
  if (v instanceof Huge) return new Huge(`${v.unit}§`, v.length);
  return typeof v === 'string' && v.length >= 8 ? `${v}§` : v;
}
const SECRET_FIELD = /password|secret|token|^key$/i;

/** A mutation of one field of a valid body. */
export type Mutation = { op: 'delete'; field: string } | { op: 'set'; field: string; value: unknown } | { op: 'add'; key: string; value: unknown };

/**
 * A valid body (from per-field generators) mutated field by field: 0-3 mutations deleting a field, setting it to a
 * hostile value, or adding an unknown one. About one run in eight replaces the whole body with a non-object.
 */
export function mutatedBody(valid: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const fields = Object.keys(valid);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ op: fc.constant('delete' as const), field: fc.constantFrom(...fields) }),
    fc.record({ op: fc.constant('set' as const), field: fc.constantFrom(...fields), value: weirdValue }),
    fc.record({ op: fc.constant('add' as const), key: fc.oneof(nastyString, fc.string({ maxLength: 10 })), value: weirdValue }),
  );
  const mutated = fc.tuple(fc.record(valid), fc.array(mutation, { maxLength: 3 })).map(([body, mutations]) => {
    const out: Record<string, unknown> = { ...body };
    for (const m of mutations) {
      if (m.op === 'delete') delete out[m.field];
      else if (m.op === 'set') out[m.field] = SECRET_FIELD.test(m.field) ? markSecret(m.value) : m.value;
      // An added key can look secret too ("Password123!" is one of the nasty keys): its value is marked the same way,
      // or a nasty string sent under it and later stored as a name would read as a leaked secret.
      else Object.defineProperty(out, m.key, { value: SECRET_FIELD.test(m.key) ? markSecret(m.value) : m.value, enumerable: true, configurable: true, writable: true });
    }
    return out;
  });
  return fc.oneof({ arbitrary: mutated, weight: 7 }, { arbitrary: weirdValue, weight: 1 });
}

/** A role list: mostly real role names, sometimes unknown, duplicated, lower-cased or too many. */
export const roleList = fc.oneof(
  { arbitrary: fc.uniqueArray(fc.constantFrom('CHAT-USER', 'TASK-ADMIN', 'VALIDATION-USER', 'DEFAULT-RULE-ADMIN', 'ORG-AUDITOR'), { maxLength: 3 }), weight: 6 },
  { arbitrary: fc.array(fc.oneof(fc.constantFrom('CHAT-USER', 'ADMIN-KEY', 'ORG-ADMIN', 'chat-user', 'NOPE'), anyString), { maxLength: 5 }), weight: 3 },
  { arbitrary: fc.constantFrom(51, 60, 500).map((n) => Array.from({ length: n }, () => 'CHAT-USER')), weight: 1 },
);

/** A password: usually policy-compliant, sometimes not (too short, too long, common, missing a class). */
export const password = fc.oneof(
  { arbitrary: fc.constantFrom('Vivid-Harbor-42-Lantern', 'Quiet!Orchid77Meadow', 'Ünïcode-Pässwörd-9x'), weight: 5 },
  { arbitrary: fc.constantFrom('short1A!', 'alllowercase-1234', 'ALLUPPER-1234!', 'NoDigits-Here!!', 'NoSymbols1234abc', 'Password123!', 'P@ssw0rd2024!'), weight: 3 },
  { arbitrary: fc.constantFrom(255, 256, 257, 5000).map((n) => new Huge('Pw9#', n)), weight: 1 },
  { arbitrary: anyString.map(markSecret), weight: 2 },
);

/** An email: usually valid and unique, sometimes hostile. */
export const email = fc.oneof(
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 1e9 }), fc.constantFrom('', ' ', 'UPPER.')).map(([n, p]) => `${p}fuzz${n}@example.com`), weight: 5 },
  { arbitrary: anyString, weight: 3 },
  { arbitrary: fc.constantFrom(new Huge('a', 300), 'é@exämple.org', 'a+b@c.io', 'user@123.456', 'üñí@δοκιμή.gr'), weight: 1 },
);

/** Percent-encodes every byte but unreserved characters (lone surrogates become U+FFFD, as any client would send). */
export function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** A query-string value as it appears in the URL: encoded, raw, or with broken escapes. */
export const queryValue = (meaningful: string[]) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...meaningful).map(pct), weight: 5 },
    { arbitrary: fc.constantFrom(...NUMERIC_STRINGS).map(pct), weight: 3 },
    { arbitrary: anyString.map((s) => pct(plain(s).slice(0, 3000))), weight: 3 },
    { arbitrary: fc.constantFrom('%', '%G1', '%FF%FE', '%C3', '%00', '%ED%A0%80', '+', '%2B', 'a+b', '%26', '%3D', '&', '=', '[]', '%5B%5D'), weight: 2 },
  );

/**
 * A query string over `params`: each parameter absent, present once, present twice, or empty; plus unknown and
 * prototype-polluting keys.
 */
export function queryString(params: Record<string, string[]>): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const part = (name: string) =>
    fc.oneof(
      { arbitrary: fc.constant([] as string[]), weight: 3 },
      { arbitrary: queryValue(params[name]!).map((v) => [`${name}=${v}`]), weight: 6 },
      { arbitrary: fc.tuple(queryValue(params[name]!), queryValue(params[name]!)).map(([a, b]) => [`${name}=${a}`, `${name}=${b}`]), weight: 1 },
      { arbitrary: fc.constantFrom([name], [`${name}=`], [`${name}[]=1`], [`${name}[a]=1`]), weight: 1 },
    );
  const extra = fc.array(fc.constantFrom('__proto__=1', 'constructor[prototype][x]=1', 'foo=bar', '=', '&&', 'a=%', 'x'), { maxLength: 2 });
  return fc.tuple(fc.tuple(...names.map(part)), extra, fc.boolean()).map(([parts, more, shuffle]) => {
    const all = [...parts.flat(), ...more];
    if (shuffle) all.reverse();
    return all.length === 0 ? '' : `?${all.join('&')}`;
  });
}

// ---- Content types and body encodings --------------------------------------------------------------------------

/** The classes of content type the harness tells apart: JSON, form, another (415), or no body. */
export type BodyClassName = 'none' | 'json' | 'form' | 'other' | 'unknown';

const JSON_TYPES = ['application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8', 'application/json; charset=latin1', 'application/json; foo=bar'];
export const OTHER_TYPES = [
  'text/plain', 'text/plain; charset=utf-8', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/vnd.api+json',
  'text/json', 'application/jsonx', 'foo', '', '*/*', 'application/json, text/plain', 'text/html', 'application/json-patch+json',
];
export const FORM_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8'];

export interface Encoding {
  contentType: string | undefined;
  bodyClass: BodyClassName;
  /** How the JSON text becomes bytes: UTF-8 (as sent by everyone), Latin-1 or UTF-16 (invalid UTF-8), or nothing. */
  bytes: 'utf8' | 'latin1' | 'utf16le' | 'empty';
}

/** Mostly `application/json` UTF-8; sometimes other JSON spellings, other content types, none, odd byte encodings. */
export const jsonEncoding: fc.Arbitrary<Encoding> = fc.oneof(
  { arbitrary: fc.constant<Encoding>({ contentType: 'application/json', bodyClass: 'json', bytes: 'utf8' }), weight: 14 },
  { arbitrary: fc.constantFrom(...JSON_TYPES).map((contentType): Encoding => ({ contentType, bodyClass: 'json', bytes: 'utf8' })), weight: 2 },
  { arbitrary: fc.constantFrom('latin1' as const, 'utf16le' as const).map((bytes): Encoding => ({ contentType: 'application/json', bodyClass: 'json', bytes })), weight: 1 },
  { arbitrary: fc.constantFrom(...OTHER_TYPES, ...FORM_TYPES).map((contentType): Encoding => ({ contentType, bodyClass: FORM_TYPES.includes(contentType) ? 'form' : 'other', bytes: 'utf8' })), weight: 2 },
  { arbitrary: fc.constant<Encoding>({ contentType: undefined, bodyClass: 'other', bytes: 'utf8' }), weight: 1 },
  { arbitrary: fc.constantFrom('application/json', undefined).map((contentType): Encoding => ({ contentType, bodyClass: 'none', bytes: 'empty' })), weight: 1 },
);

/** The headers and payload for a generated body value sent with an encoding. */
export function encodeBody(value: unknown, enc: Encoding): { headers: Record<string, string>; payload?: Buffer; bodyClass: BodyClassName } {
  const headers: Record<string, string> = enc.contentType === undefined ? {} : { 'content-type': enc.contentType };
  if (enc.bytes === 'empty') return { headers, bodyClass: 'none' };
  const payload = Buffer.from(toJsonText(value), enc.bytes);
  return { headers, payload, bodyClass: payload.length === 0 ? 'none' : enc.bodyClass };
}
