import { Ajv, type ErrorObject, type Options } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldProblem } from '../domain/errors.ts';

/**
 * Request validation with FastAPI's error shape (CONTRACT.md §1.2). Bodies are validated strictly (a number is not
 * a string, as in pydantic); query strings and path parameters arrive as text, so they are coerced to the declared
 * type first. Every problem is reported, as FastAPI does; arrays and strings carry explicit bounds so reporting all
 * of them stays cheap.
 */
const common: Options = { allErrors: true, strict: false, useDefaults: true };
const bodyAjv = new Ajv({ ...common, coerceTypes: false });
const textAjv = new Ajv({ ...common, coerceTypes: true });

/**
 * Text that no store can keep faithfully: U+0000 (PostgreSQL refuses it in text, SQLite's FTS5 parser stops at it)
 * and lone UTF-16 surrogates (not Unicode at all; stored, they come back as U+FFFD). Every string a client sends is
 * checked for them (ajv compiles patterns with the `u` flag, so a well-formed surrogate pair is one code point and
 * passes).
 */
export const CLEAN_TEXT = '^[^\\u0000\\uD800-\\uDFFF]*$';

function withCleanText(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withCleanText);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = withCleanText(v);
  if (out.type === 'string' && out.pattern === undefined && out.enum === undefined) out.pattern = CLEAN_TEXT;
  return out;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(withCleanText(schema) as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

const PART_LOC: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function quoteList(values: readonly unknown[]): string {
  const quoted = values.map((v) => `'${String(v)}'`);
  return quoted.length <= 1 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

function problemFor(error: ErrorObject, part: string, data: unknown): FieldProblem {
  const base = pointerSegments(error.instancePath);
  const loc = [PART_LOC[part] ?? part, ...base];
  const input = valueAt(data, base);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      return { type: 'missing', loc: [...loc, String(p.missingProperty)], msg: 'Field required', input: input ?? null };
    }
    case 'type': {
      const type = Array.isArray(p.type) ? p.type[0] : p.type;
      if (type === 'object' && base.length === 0 && part === 'body') {
        return { type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input };
      }
      const byType: Record<string, [string, string]> = {
        string: ['string_type', 'Input should be a valid string'],
        boolean: ['bool_type', 'Input should be a valid boolean'],
        array: ['list_type', 'Input should be a valid list'],
        integer: ['int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
        number: ['float_parsing', 'Input should be a valid number, unable to parse string as a number'],
        object: ['dict_type', 'Input should be a valid dictionary'],
      };
      const [t, msg] = byType[String(type)] ?? ['value_error', `Input should be of type ${String(type)}`];
      return { type: t, loc, msg, input };
    }
    case 'enum': {
      const expected = quoteList((p.allowedValues as unknown[]) ?? []);
      return { type: 'enum', loc, msg: `Input should be ${expected}`, input, ctx: { expected } };
    }
    case 'maxLength':
      return { type: 'string_too_long', loc, msg: `String should have at most ${String(p.limit)} characters`, input, ctx: { max_length: p.limit } };
    case 'minLength':
      return { type: 'string_too_short', loc, msg: `String should have at least ${String(p.limit)} characters`, input, ctx: { min_length: p.limit } };
    case 'maxItems':
      return { type: 'too_long', loc, msg: `List should have at most ${String(p.limit)} items`, input, ctx: { max_length: p.limit } };
    case 'minimum':
      return { type: 'greater_than_equal', loc, msg: `Input should be greater than or equal to ${String(p.limit)}`, input, ctx: { ge: p.limit } };
    case 'maximum':
      return { type: 'less_than_equal', loc, msg: `Input should be less than or equal to ${String(p.limit)}`, input, ctx: { le: p.limit } };
    case 'pattern':
      if (p.pattern === CLEAN_TEXT) {
        const why = 'NUL characters and unpaired surrogates are not allowed';
        return { type: 'value_error', loc, msg: `Value error, ${why}`, input, ctx: { error: why } };
      }
      return { type: 'string_pattern_mismatch', loc, msg: `String should match pattern '${String(p.pattern)}'`, input, ctx: { pattern: p.pattern } };
    default:
      return { type: 'value_error', loc, msg: `Value error, ${error.message ?? 'invalid value'}`, input };
  }
}

/** Turns ajv's errors for one request part into FastAPI-shaped problems, in a stable order without repeats. */
export function toFieldProblems(ajvErrors: ErrorObject[], part: string, data: unknown): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const error of ajvErrors) {
    const problem = problemFor(error, part, data);
    const key = JSON.stringify(problem.loc);
    if (seen.has(key)) continue; // one problem per location, like pydantic
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}
