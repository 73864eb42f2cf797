/**
 * Piped input read with backpressure: `yes '' | npm run lesson 04 -- --step` must not grow the runner's memory.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lineReader } from '../../lib/cli/lines.ts';

/** An endless source of empty lines, 64 KiB at a time, that counts how much was taken from it. */
function endlessEnter(): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const chunk = '\n'.repeat(64 * 1024);
  const stream = new Readable({
    read() {
      pulled += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

describe('the line reader behind --step pauses and quiz answers', () => {
  it('reads no further than the lines asked for, however much input is waiting', async () => {
    const { stream, pulled } = endlessEnter();
    const next = lineReader(stream);
    for (let i = 0; i < 10; i++) expect(await next()).toBe('');
    await new Promise((r) => setTimeout(r, 50)); // time for a reader that reads ahead to do so
    expect(pulled()).toBeLessThan(1024 * 1024);
    stream.destroy();
  });

  it('gives each line once, in order, across chunk boundaries, then undefined at the end', async () => {
    const next = lineReader(Readable.from(['a\nb', 'c\n\nq\r\n', 'last']));
    const got: Array<string | undefined> = [];
    for (let i = 0; i < 6; i++) got.push(await next());
    expect(got).toEqual(['a', 'bc', '', 'q', 'last', undefined]);
  });
});
