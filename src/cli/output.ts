/**
 * What verbs print. People get aligned tables and short sentences; scripts pass `--json` and get exactly one JSON
 * document on standard output, with the API's field names.
 */

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLine(text: string): void {
  process.stdout.write(text + '\n');
}

/** Columns aligned on their widest cell; an empty list prints the header only, so a person sees it was empty. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write([line(headers), ...rows.map(line)].join('\n') + '\n');
}

/** One record as `name: value` lines, for `get` verbs read by a person. */
export function printFields(fields: [string, string][]): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  process.stdout.write(fields.map(([name, value]) => `${(name + ':').padEnd(width + 1)} ${value}`).join('\n') + '\n');
}

export const dash = (value: string | null | undefined) => (value === null || value === undefined || value === '' ? '-' : value);
