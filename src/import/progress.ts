/**
 * A one-line progress display on a terminal: records so far and the rate, redrawn at most 10 times a second.
 * Nothing at all when the stream is not a terminal (a pipe, a file, CI logs), so logs get no carriage returns.
 */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

export function progressLine(stream: { isTTY?: boolean; write(text: string): unknown }, noun: string, now: () => number = () => performance.now()): Progress {
  if (!stream.isTTY) return { update() {}, finish() {} };
  const started = now();
  let last = 0;
  let shown = false;
  let latest = 0;
  const draw = () => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(latest / seconds) : 0;
    stream.write(`\r\x1b[K${latest.toLocaleString('en')} ${noun} (${rate.toLocaleString('en')}/s, ${seconds.toFixed(0)} s)`);
    shown = true;
  };
  return {
    update(done) {
      latest = done;
      if (now() - last >= 100) {
        last = now();
        draw();
      }
    },
    finish() {
      if (shown || latest > 0) {
        draw();
        stream.write('\n');
      }
    },
  };
}
