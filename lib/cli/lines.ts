/**
 * Lines from piped input, read only when asked for.
 *
 * A pause (or a quiz question) without a terminal reads one line from stdin. The input may be endless —
 * `yes '' | npm run lesson 04 -- --step` — so the reader must never read ahead of what it is asked: it takes a
 * chunk from the stream only when a caller waits for a line and none is left over, and otherwise leaves the
 * data in the pipe. The writer then blocks (backpressure) instead of the reader buffering gigabytes. One reader
 * serves every caller in turn: a reader per pause would swallow the lines buffered after its own.
 */
import type { Readable } from 'node:stream';

export type NextLine = () => Promise<string | undefined>;

/** A function that resolves with the next line of `input` (without its newline), or undefined at its end. */
export function lineReader(input: Readable): NextLine {
  let rest = '';
  let ended = false;
  input.setEncoding('utf8');
  input.pause();
  input.once('end', () => (ended = true));
  const takeLine = (): string | undefined => {
    const nl = rest.indexOf('\n');
    if (nl < 0) return undefined;
    const line = rest.slice(0, nl).replace(/\r$/, '');
    rest = rest.slice(nl + 1);
    return line;
  };
  const next: NextLine = async () => {
    for (;;) {
      const line = takeLine();
      if (line !== undefined) return line;
      if (ended || input.destroyed || input.readableEnded) {
        if (rest === '') return undefined;
        const last = rest;
        rest = '';
        return last;
      }
      const chunk = input.read() as string | null;
      if (chunk !== null) {
        rest += chunk;
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          input.off('readable', done);
          input.off('end', done);
          input.off('close', done);
          resolve();
        };
        input.on('readable', done);
        input.on('end', done);
        input.on('close', done);
      });
      if (input.readableEnded) ended = true;
    }
  };
  return next;
}
