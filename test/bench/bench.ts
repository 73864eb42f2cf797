/**
 * npm run bench — the numbers that matter for a live demo and against real runtimes, measured rather than asserted.
 * A benchmark, not a test: it prints a table (Markdown), writes every figure with its samples and the machine to a
 * JSON file, and never fails on a missed goal (a ✘ in the table says so).
 *
 *   start    container start to exit of /bin/true: the floor, sh and TypeScript inits, ctr, runc, podman (start.ts)
 *   explain  the lesson runner's start to its first output; npm's own start-up apart (plan.ts)
 *   lesson   a whole lesson, for real                       rootfs   the busybox rootfs build, cold and warm
 *   image    layer unpack with digests vs GNU tar, on disk and on tmpfs; peak memory (image.ts)
 *   pull     pulling from a registry on 127.0.0.1 vs `skopeo copy` of the same image (pull.ts)
 *   cycles   200 run/rm cycles in one process: the last 50 against the first 50, and its memory (cycles.ts)
 *   scale    1, 10 and 50 detached containers: the next one's start, memory per container, the waiter (scale.ts)
 *
 * Each figure is the median of BENCH_RUNS (default 11) after a warm-up; BENCH_ONLY=start,image picks groups;
 * BENCH_JSON names the JSON file (default bench-results.json). As root, the whole bench runs inside a network
 * namespace of its own (made here, deleted at the end), so the bridges, veths and rules ctr makes never touch
 * this machine's own network; rootfs builds go to the bench's own temporary directory, never the shared rootfs.
 */
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/bundle.ts';
import { benchEnv, machine, median, met, sideBySide, table, timeProcess, type Row } from './measure.ts';
import { benchmarks } from './plan.ts';

const GROUPS = ['start', 'explain', 'lesson', 'rootfs', 'image', 'pull', 'cycles', 'scale'] as const;
type Group = (typeof GROUPS)[number];
const ROOT_GROUPS: Group[] = ['start', 'lesson', 'rootfs', 'image', 'pull', 'cycles', 'scale'];

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const NETNS_ENV = 'SCRATCH_BENCH_NETNS';
const isRoot = process.platform === 'linux' && process.getuid?.() === 0;

/** Re-run this bench inside a network namespace made for it, then delete the namespace. Returns the exit code. */
function confined(): number {
  const netns = `scrb${crypto.randomBytes(3).toString('hex')}`;
  const ip = (...args: string[]) => spawnSync('ip', args, { stdio: 'inherit' }).status === 0;
  if (!ip('netns', 'add', netns)) throw new Error(`ip netns add ${netns} failed`);
  // Ctrl-C reaches the bench itself (same terminal); this process only waits, then deletes the namespace.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  try {
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    const r = spawnSync(
      'nsenter',
      // --expose-gc: the cycles group reads the heap after a full collection, not whatever garbage is pending.
      [
        `--net=/run/netns/${netns}`,
        '--',
        process.execPath,
        '--expose-gc',
        ...process.execArgv,
        ...process.argv.slice(1),
      ],
      { stdio: 'inherit', env: { ...process.env, [NETNS_ENV]: netns } },
    );
    return r.status ?? 1;
  } finally {
    ip('netns', 'delete', netns);
  }
}

function wanted(): Group[] {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
  for (const g of only ?? []) if (!GROUPS.includes(g as Group)) throw new Error(`BENCH_ONLY: no group "${g}"`);
  return GROUPS.filter((g) => !only || only.includes(g));
}

/** The command-timing groups (explain, lesson, rootfs), side by side within each group. */
async function commandGroup(group: Group, work: string): Promise<Row[]> {
  const list = benchmarks(process.execPath, path.join(work, 'rootfs')).filter((b) => b.group === group);
  const contenders = Object.fromEntries(
    list.map((b) => [
      b.key,
      async () => {
        const t = await timeProcess([b.cmd, ...b.args], { cwd: PROJECT_ROOT });
        if (t.code !== 0) throw new Error(`${b.label}: exited ${t.code}: ${t.stderr.trim().split('\n').at(-1)}`);
        return t[b.field];
      },
    ]),
  );
  const s = await sideBySide(contenders, RUNS);
  const rows: Row[] = list.map((b) => ({
    group,
    what: b.label,
    value: median(s[b.key] ?? []),
    unit: 'ms',
    samples: s[b.key],
    goal: b.goal,
  }));
  if (group === 'explain') {
    const viaNpm = rows.find((r) => r.what.startsWith('npm run lesson'))?.value ?? NaN;
    const direct = rows.find((r) => r.what.startsWith('lesson runner, compiled'))?.value ?? NaN;
    rows.push({
      group,
      what: "npm's own start-up (npm run's first output − the runner's own)",
      value: viaNpm - direct,
      unit: 'ms',
    });
    if (process.env.NODE_EXTRA_CA_CERTS) {
      // This machine's environment sets it; measured programs run without it (measure.ts says why): its cost.
      const withCerts = await sideBySide(
        {
          bare: async () => (await timeProcess([process.execPath, '-e', '0'])).totalMs,
          certs: async () =>
            (
              await timeProcess([process.execPath, '-e', '0'], {
                env: { ...benchEnv(), NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '' },
              })
            ).totalMs,
        },
        RUNS,
      );
      rows.push({
        group,
        what: 'what NODE_EXTRA_CA_CERTS (set on this machine, unset for every figure here) adds to a node start',
        value: median(withCerts.certs ?? []) - median(withCerts.bare ?? []),
        unit: 'ms',
      });
    }
  }
  return rows;
}

async function runGroup(group: Group, work: string, log: (l: string) => void): Promise<Row[]> {
  switch (group) {
    case 'explain':
    case 'lesson':
    case 'rootfs':
      return commandGroup(group, work);
    case 'start':
      return (await import('./start.ts')).startBenchmarks({ runs: RUNS, work, log });
    case 'image':
      return (await import('./image.ts')).imageBenchmarks({ runs: Math.max(3, Math.round(RUNS / 3)), work, log });
    case 'pull':
      return (await import('./pull.ts')).pullBenchmarks({ runs: RUNS, work, log });
    case 'cycles':
      return (await import('./cycles.ts')).cycleBenchmarks({ cycles: Number(process.env.BENCH_CYCLES ?? 200), log });
    case 'scale':
      return (await import('./scale.ts')).scaleBenchmarks({ runs: RUNS, work, log });
  }
}

async function main(): Promise<number> {
  if (isRoot && !process.env[NETNS_ENV]) return confined();
  const m = machine();
  const rows: Row[] = [];
  const failed: string[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-bench-'));
  const log = (l: string) => console.log(l);
  log(`npm run bench: median of ${RUNS} after a warm-up · ${m.cpu}, ${m.cores} cores, ${m.os}, node ${m.node}`);
  try {
    for (const g of wanted()) {
      if (ROOT_GROUPS.includes(g) && !isRoot) {
        log(`(not root: the "${g}" group is not measured)`);
        continue;
      }
      log(`— ${g}`);
      let got: Row[];
      try {
        got = await runGroup(g, work, log);
      } catch (e) {
        // One group that cannot run (a tool missing, a registry that will not start) costs its figures, not the
        // others': the table says which group failed and why.
        const why = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
        log(`  ✘ the ${g} group failed: ${why}`);
        failed.push(`${g}: ${why}`);
        continue;
      }
      for (const r of got) log(`  ${r.what}: ${r.value.toFixed(r.unit === 'ms' ? 0 : 2)} ${r.unit}`);
      rows.push(...got);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  m.load.end = os.loadavg()[0];
  log('');
  log(table(rows));
  log('');
  log(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}, node ${m.node}; ` +
      `load average ${m.load.start.toFixed(1)} at the start, ${m.load.end?.toFixed(1)} at the end.`,
  );
  const missed = rows.filter((r) => met(r) === false);
  if (missed.length > 0) log(`Goals missed: ${missed.map((r) => r.what).join('; ')}`);
  for (const f of failed) log(`Not measured: ${f}`);
  const out = path.resolve(PROJECT_ROOT, process.env.BENCH_JSON ?? 'bench-results.json');
  fs.writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, machine: m, rows, failed }, null, 2)}\n`,
  );
  log(`Written to ${path.relative(PROJECT_ROOT, out)}.`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
