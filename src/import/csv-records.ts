import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { ImportInputError } from './import-types.ts';

/** One record of a CSV file: its fields and the line it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * RFC 4180 records, streamed: fields separated by commas, quoted with `"` (a doubled `""` inside a quoted field is
 * one quote; a quoted field may span lines), records ended by CRLF or LF. A leading UTF-8 byte-order mark is
 * dropped; blank lines are skipped. An unterminated quote is a malformed file (ImportInputError).
 */
export async function* csvRecords(path: string): AsyncGenerator<CsvRecord> {
  const name = basename(path);
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let afterQuote = false; // just closed a quoted field
  let line = 1;
  let recordLine = 1;
  let first = true;
  let pending = false; // the record has content
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = chunk;
      if (first) {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      const records: CsvRecord[] = [];
      for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (quoted) {
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 1;
            } else {
              // Closes the field, unless (at the very end of a chunk) the next chunk starts with its double: see below.
              quoted = false;
              afterQuote = true;
            }
          } else {
            if (c === '\n') line += 1;
            field += c;
          }
          continue;
        }
        if (afterQuote && c === '"') {
          // The doubled quote was split across chunks.
          field += '"';
          quoted = true;
          afterQuote = false;
          continue;
        }
        if (c === ',') {
          fields.push(field);
          field = '';
          afterQuote = false;
          pending = true;
        } else if (c === '\n' || c === '\r') {
          if (c === '\r' && text[i + 1] === '\n') i += 1;
          if (pending || field !== '' || afterQuote) {
            fields.push(field);
            records.push({ fields, line: recordLine });
          }
          fields = [];
          field = '';
          afterQuote = false;
          pending = false;
          line += 1;
          recordLine = line;
        } else if (c === '"' && field === '' && !afterQuote) {
          quoted = true;
          pending = true;
        } else {
          if (afterQuote) throw new ImportInputError(name, `line ${line}`, 'text after a closing quote (a quote inside a field must be doubled)');
          field += c;
          pending = true;
        }
      }
      yield* records;
    }
  } catch (err) {
    if (err instanceof ImportInputError) throw err;
    throw new ImportInputError(name, 'open', (err as Error).message);
  } finally {
    stream.destroy();
  }
  if (quoted) throw new ImportInputError(name, `line ${recordLine}`, 'a quoted field is never closed');
  if (pending || field !== '' || afterQuote) {
    fields.push(field);
    yield { fields, line: recordLine };
  }
}
