/**
 * npm run bench — the numbers that matter for a live demo, measured rather than asserted:
 *   - time to the first byte of output of `npm run lesson 01 -- --explain` (and via node directly);
 *   - the whole of lesson 01 run for real (no shell);
 *   - the busybox rootfs build, cold (forced) and warm (already up to date), into the bench's own temporary
 *     directory — never the shared rootfs, which a lesson in another terminal may be using.
 * Each is the median of 5 runs (BENCH_RUNS). BENCH_ONLY=explain|lesson|rootfs measures one group. Needs root
 * for the real lesson and the rootfs build.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchmarks } from './plan.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

interface Timing {
  firstOutputMs: number;
  totalMs: number;
  code: number | null;
}

function time(cmd: string, args: string[]): Promise<Timing> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - start) / 1e6;
    let first = -1;
    const child = spawn(cmd, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    child.stdout.on('data', () => {
      if (first < 0) first = ms();
    });
    child.on('close', (code) => resolve({ firstOutputMs: first, totalMs: ms(), code }));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function bench(label: string, cmd: string, args: string[], field: keyof Omit<Timing, 'code'>) {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = await time(cmd, args);
    if (t.code !== 0) throw new Error(`${label}: ${cmd} ${args.join(' ')} exited ${t.code}`);
    samples.push(t[field]);
  }
  const m = median(samples);
  console.log(`${label.padEnd(64)} ${m.toFixed(0).padStart(6)} ms   (${samples.map((s) => s.toFixed(0)).join(', ')})`);
  return m;
}

const root = process.getuid?.() === 0;
const only = process.env.BENCH_ONLY;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-bench-'));
console.log(`median of ${RUNS} runs, node ${process.version}`);
try {
  for (const b of benchmarks(process.execPath, path.join(dir, 'rootfs'))) {
    if (only && b.group !== only) continue;
    if (b.needsRoot && !root) {
      console.log(`(not root: "${b.label}" is not measured)`);
      continue;
    }
    await bench(b.label, b.cmd, b.args, b.field);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
