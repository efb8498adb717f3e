import PinoPretty from 'pino-pretty';

/**
 * A destination for pino that turns each JSON line into one human-readable line (GATEHOUSE_LOG_FORMAT=pretty):
 * `[2026-11-29T09:30:00.123Z] INFO: request completed {"reqId":"…","res":{"statusCode":200},…}`.
 *
 * pino-pretty's own stream runs through an asynchronous pipeline, which could lose the last lines when the process
 * exits right after a shutdown; its formatter is a plain function, so each line is formatted and written at once.
 */
export function prettyStream(destination: NodeJS.WritableStream, options: { colorize: boolean }): NodeJS.WritableStream {
  const format = PinoPretty.prettyFactory({
    colorize: options.colorize,
    // The time is already ISO 8601 (see logger-options.ts): shown as written, in UTC, not reformatted.
    translateTime: false,
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return { write: (line: string) => destination.write(format(line)) } as unknown as NodeJS.WritableStream;
}
