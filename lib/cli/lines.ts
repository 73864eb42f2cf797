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
  // One permanent listener per event, so no wake-up can fall between removing one listener and adding the next.
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const finish = () => {
    ended = true;
    poke();
  };
  input.setEncoding('utf8');
  input.on('readable', poke);
  input.on('end', finish);
  input.on('close', finish);
  input.on('error', finish);
  const takeLine = (): string | undefined => {
    const nl = rest.indexOf('\n');
    if (nl < 0) return undefined;
    const line = rest.slice(0, nl).replace(/\r$/, '');
    rest = rest.slice(nl + 1);
    return line;
  };
  return async () => {
    for (;;) {
      const line = takeLine();
      if (line !== undefined) return line;
      // Take one chunk from the stream only now that a line is wanted and none is left over.
      const chunk = ended ? null : (input.read() as string | null);
      if (chunk !== null) {
        rest += chunk;
        continue;
      }
      if (ended || input.readableEnded || input.destroyed) {
        const last = rest;
        rest = '';
        return last === '' ? undefined : last;
      }
      // Events are emitted asynchronously, so none can be missed between read() above and setting wake here.
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
}
