/**
 * What `ctr pull` and `ctr load` print while layers arrive: one progress bar per layer on a terminal, as docker
 * shows them, and one line per layer otherwise (a log, a test, a lesson reading the output).
 *
 * A layer the store already has is never read again (the store is content-addressed: the same diff_id is the
 * same directory), so it gets "Already exists" at once; the others a bar that fills with the bytes of their blob
 * as they are read and checked, then "Pull complete" (or "Loaded").
 */
import cliProgress from 'cli-progress';
import { formatBytes } from '../cgroups/limits.ts';
import { shortDigest } from '../image/digest.ts';
import type { LayerProgress } from '../image/import.ts';

export interface LayerDisplay {
  onProgress(p: LayerProgress): void;
  /** Ends the bars (call once, on success or failure). */
  stop(): void;
}

/** The words docker uses at the end of a layer. */
const DONE: Record<'pull' | 'load', string> = { pull: 'Pull complete', load: 'Loaded' };

/** One line per layer: `3f1a2b4c5d6e: Already exists`, `9e8d7c6b5a4f: Pull complete (2.1 MiB)`. */
export function layerLine(p: LayerProgress, verb: 'pull' | 'load'): string | undefined {
  const id = shortDigest(p.diffId);
  if (p.state === 'exists') return `${id}: Already exists`;
  if (p.state === 'done') return `${id}: ${DONE[verb]} (${formatBytes(p.bytes)})`;
  return undefined;
}

export function layerDisplay(opts: {
  tty: boolean;
  write: (text: string) => void;
  verb: 'pull' | 'load';
}): LayerDisplay {
  if (!opts.tty) {
    // Layers arrive a few at a time, in any order; their lines are printed bottom layer first, as each is known.
    const ready = new Map<number, string>();
    let next = 0;
    return {
      onProgress: (p) => {
        const line = layerLine(p, opts.verb);
        if (line === undefined) return;
        ready.set(p.index, line);
        for (let l = ready.get(next); l !== undefined; l = ready.get(next)) {
          opts.write(`${l}\n`);
          ready.delete(next++);
        }
      },
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      format: '{layer}: {status} [{bar}] {done}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<number, cliProgress.SingleBar>();
  const barOf = (p: LayerProgress) => {
    let bar = bars.get(p.index);
    if (!bar) {
      bar = multi.create(p.total ?? 0, 0, { layer: shortDigest(p.diffId), status: 'Waiting', done: '' });
      bars.set(p.index, bar);
    }
    return bar;
  };
  return {
    onProgress: (p) => {
      const bar = barOf(p);
      const size = `${formatBytes(p.bytes)}${p.total ? `/${formatBytes(p.total)}` : ''}`;
      if (p.state === 'exists') {
        bar.setTotal(1);
        bar.update(1, { status: 'Already exists', done: '' });
      } else if (p.state === 'done') {
        bar.setTotal(Math.max(p.bytes, 1));
        bar.update(Math.max(p.bytes, 1), { status: DONE[opts.verb], done: formatBytes(p.bytes) });
      } else {
        if (!p.total) bar.setTotal(Math.max(p.bytes * 2, 1));
        bar.update(p.bytes, { status: opts.verb === 'pull' ? 'Downloading' : 'Loading', done: size });
      }
    },
    stop: () => multi.stop(),
  };
}
