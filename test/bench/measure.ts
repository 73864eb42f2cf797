/**
 * How npm run bench measures: medians of samples taken after a warm-up, contenders measured in turn within each
 * round (so a burst of load from elsewhere on a shared machine falls on all of them, not on one), and every
 * figure kept as a row — what, the median, its unit, the goal if there is one — for the table and the JSON file.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface Goal {
  /** `<=`: the figure must be at most `value`; `>=`: at least. */
  op: '<=' | '>=';
  value: number;
  /** Says what the goal is when the number alone would not (e.g. "faster than podman"). */
  text?: string;
}

export interface Row {
  group: string;
  what: string;
  value: number;
  unit: string;
  goal?: Goal;
  /** The samples the median was taken of, in the order they were taken. */
  samples?: number[];
  /** How it was measured, when the label does not say. */
  note?: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function met(row: Row): boolean | undefined {
  if (!row.goal) return undefined;
  return row.goal.op === '<=' ? row.value <= row.goal.value : row.value >= row.goal.value;
}

export async function elapsed(fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/**
 * Measure contenders side by side: `warmup` unmeasured rounds, then `runs` rounds in which each contender runs
 * once, in turn. Returns each contender's samples (milliseconds, or whatever the function returns if it returns
 * a number: a contender may measure itself, e.g. a time read inside the process).
 */
export async function sideBySide(
  contenders: Record<string, () => Promise<number | void> | number | void>,
  runs: number,
  warmup = 1,
): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let round = -warmup; round < runs; round++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const t = performance.now();
      const own = await fn();
      const ms = typeof own === 'number' ? own : performance.now() - t;
      if (round >= 0) samples[name]?.push(ms);
    }
  }
  return samples;
}

export interface ProcessTiming {
  /** From spawn to exit. */
  totalMs: number;
  /** From spawn to the first byte on stdout (-1: none). */
  firstOutputMs: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment measured programs get: this one's, without what is a property of this machine, not of ours. */
export function benchEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // NODE_EXTRA_CA_CERTS makes every node read and parse a certificate bundle before it runs any JavaScript
  // (about 45 ms on the reference machine, where the sandbox sets it); a learner's machine does not set it.
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Run a command to its end, timing its first output and its exit. */
export function timeProcess(
  argv: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<ProcessTiming> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first = -1;
    let stdout = '';
    let stderr = '';
    const child = spawn(file ?? 'false', args, { cwd: opts.cwd, env: opts.env ?? benchEnv() });
    child.stdout.on('data', (d: Buffer) => {
      if (first < 0) first = performance.now() - start;
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? '');
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ totalMs: performance.now() - start, firstOutputMs: first, code, stdout, stderr }),
    );
  });
}

/** Like timeProcess, but a non-zero exit is an error naming the command. */
export async function timeOk(argv: readonly string[], opts: Parameters<typeof timeProcess>[1] = {}) {
  const t = await timeProcess(argv, opts);
  if (t.code !== 0) throw new Error(`${argv.join(' ')} exited ${t.code}: ${t.stderr.trim().split('\n').slice(-3)}`);
  return t;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  os: string;
  /** The 1-minute load average when the bench started and ended: other work on the machine skews the figures. */
  load: { start: number; end?: number };
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    os: osName(),
    load: { start: os.loadavg()[0] ?? 0 },
  };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function formatGoal(g: Goal | undefined, unit: string): string {
  if (!g) return '';
  return g.text ?? `${g.op === '<=' ? '≤' : '≥'} ${fmt(g.value)} ${unit}`.trim();
}

/** The rows as a Markdown table (it reads as a plain table in a terminal too). */
export function table(rows: readonly Row[]): string {
  const lines = [
    '| group | measured | median | goal | |',
    '| --- | --- | ---: | --- | --- |',
    ...rows.map((r) => {
      const ok = met(r);
      return `| ${r.group} | ${r.what} | ${fmt(r.value)} ${r.unit} | ${formatGoal(r.goal, r.unit)} | ${
        ok === undefined ? '' : ok ? '✔' : '✘'
      } |`;
    }),
  ];
  return lines.join('\n');
}
