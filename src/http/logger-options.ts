import type { Config } from '../config.ts';
import { prettyStream } from '../logging/pretty-stream.ts';
import { requestSerializer } from './log-redaction.ts';

/** pino's `stdTimeFunctions.isoTime`: `"time":"2026-11-29T09:30:00.123Z"`, readable by people and collectors alike. */
export const isoTime = (): string => `,"time":"${new Date().toISOString()}"`;

/**
 * The app's pino options: level, ISO times, the request serializer that redacts personal data from URLs (and logs
 * no body), and the output — JSON lines (the default), or one human-readable line per entry for a terminal.
 * `destination` replaces standard output (tests capture the lines); `colours` colours pretty lines.
 */
export function loggerOptions(config: Pick<Readonly<Config>, 'logLevel' | 'logFormat'>, destination?: NodeJS.WritableStream, colours = false) {
  const stream = config.logFormat === 'pretty' ? prettyStream(destination ?? process.stdout, { colorize: colours }) : destination;
  return {
    level: config.logLevel,
    timestamp: isoTime,
    // Belt and braces: no serializer emits headers today, but a credential must never reach a log line.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
    serializers: { req: requestSerializer as never },
    ...(stream ? { stream } : {}),
  };
}
