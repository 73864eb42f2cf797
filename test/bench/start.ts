/**
 * Container start to exit of /bin/true, side by side in the same rounds:
 *   - the floor: a bare `unshare` of every namespace, then `chroot ROOTFS /bin/true` (no mounts, no cgroup);
 *   - lesson 04's container (uts, ipc, pid, mount namespaces, pivot_root, /proc, /sys, /dev) with the sh init and
 *     with the TypeScript init, started in this process (test/bench/runtime.ts);
 *   - `ctr run --rm --network none ROOTFS /bin/true` as a whole process (every namespace, cgroup, overlay root,
 *     state, docker's default security profile), and the same with docker's default bridge network;
 *   - `runc run` of the same rootfs exported as an OCI bundle (`ctr export-bundle`), alone and with the overlay
 *     mount and unmount a container manager does around it;
 *   - `podman run --rm --network none` of the same rootfs imported as an image, where podman can be made to run.
 * From ctr's own timeline (SCRATCH_TIMINGS), where its time goes, and the setup our lib adds between "spec in
 * hand" and "command exec'd": everything on that path except the start-up of the init's own node.
 */
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CTR_BUNDLE, ensureBundle, INIT_BUNDLE, PROJECT_ROOT } from '../../lib/bundle.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import type { Mark } from '../../lib/timeline.ts';
import { benchEnv, median, sideBySide, timeOk, type Row } from './measure.ts';
import { lessonContainer } from './runtime.ts';

const CTR = path.join(PROJECT_ROOT, 'bin', 'ctr.mjs');
const WARMUP = 1;
const ROOTFS = DEFAULT_ROOTFS;

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0;
}

/** A cgroup directory name unique to this bench run, under the workshop's `scratch` parent. */
const newId = () => crypto.randomBytes(5).toString('hex');

/** Directories under /sys/fs/cgroup/<hierarchy>/scratch/<name>, deepest first. */
function cgroupDirsUnder(name: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    out.push(dir);
  };
  for (const h of fs.readdirSync('/sys/fs/cgroup')) walk(path.join('/sys/fs/cgroup', h, 'scratch', name));
  return out.filter((d) => fs.existsSync(d));
}

/** The `scratch` parents that exist now, so that those runc or podman make in other hierarchies can go again. */
export function scratchParents(): Set<string> {
  const out = new Set<string>();
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    const p = path.join('/sys/fs/cgroup', h, 'scratch');
    if (fs.existsSync(p)) out.add(p);
  }
  return out;
}

/** Remove cgroups the other runtimes left under scratch/<name>, and parents that were not there before (if empty). */
export function removeForeignCgroups(name: string, parentsBefore: Set<string>): void {
  for (const d of cgroupDirsUnder(name)) spawnSync('rmdir', [d]);
  for (const p of scratchParents()) if (!parentsBefore.has(p)) spawnSync('rmdir', [p]);
}

/** Unmount whatever is mounted below `dir` (deepest first): what podman's storage leaves mounted there. */
export function unmountBelow(dir: string): void {
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['--lazy', p]);
}

interface Runc {
  run(): Promise<void>;
  runWithOverlay(): Promise<void>;
}

/** An OCI bundle of ROOTFS made with `ctr export-bundle`, and runc running it. */
function prepareRunc(work: string, cgroupName: string): Runc {
  const id = newId();
  const name = `scrbench${id.slice(0, 6)}`;
  const env = benchEnv({ SCRATCH_RUN_ID: id });
  const ctr = (...args: string[]) => execFileSync(process.execPath, [CTR, ...args], { env, stdio: 'pipe' });
  const bundle = path.join(work, 'runc-bundle');
  ctr('run', '--name', name, '--network', 'none', ROOTFS, '/bin/true');
  try {
    ctr('export-bundle', name, bundle);
  } finally {
    ctr('rm', name);
  }
  // The cgroup runc makes goes under this bench run's own name (removed again at the end).
  const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as {
    linux: { cgroupsPath: string };
  };
  config.linux.cgroupsPath = `/scratch/${cgroupName}/runc`;
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  // The same config over an overlay of the flattened rootfs: lower = the bundle's rootfs, a fresh upper per run.
  const overlayBundle = path.join(work, 'runc-overlay');
  fs.mkdirSync(path.join(overlayBundle, 'rootfs'), { recursive: true });
  fs.copyFileSync(path.join(bundle, 'config.json'), path.join(overlayBundle, 'config.json'));
  const state = path.join(work, 'runc-state');
  let n = 0;
  const runc = (b: string) => ['runc', '--root', state, 'run', '--bundle', b, `scrbench${id}-${n++}`];
  return {
    run: async () => {
      await timeOk(runc(bundle));
    },
    runWithOverlay: async () => {
      const layer = path.join(work, `runc-layer-${n}`);
      fs.mkdirSync(path.join(layer, 'upper'), { recursive: true });
      fs.mkdirSync(path.join(layer, 'work'));
      const data = `lowerdir=${path.join(bundle, 'rootfs')},upperdir=${layer}/upper,workdir=${layer}/work`;
      // In a mount namespace of its own, as a shim does it: the overlay is gone with the namespace.
      const script = 'mount -t overlay overlay -o "$1" "$2" && shift 2 && exec "$@"';
      try {
        await timeOk([
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          'sh',
          data,
          path.join(overlayBundle, 'rootfs'),
          ...runc(overlayBundle),
        ]);
      } finally {
        fs.rmSync(layer, { recursive: true, force: true });
      }
    },
  };
}

interface Podman {
  run(): Promise<void>;
  cleanup(): void;
}

/**
 * podman, configured entirely in the bench's own directory: its storage, run state, events log and configuration
 * (CONTAINERS_CONF), its cgroups under scratch/<name>. Root here lacks CAP_SYS_RESOURCE, and podman by default
 * raises RLIMIT_NOFILE for every container, which runc then cannot do ("error setting rlimit type 7"): its
 * `default_ulimits` is emptied. crun, its default runtime, refuses a hybrid cgroup host: runc is named instead.
 */
function preparePodman(work: string, cgroupName: string): Podman | string {
  if (!onPath('podman')) return 'podman is not installed (apt-get install podman)';
  if (!onPath('runc')) return 'runc is not installed';
  const dir = path.join(work, 'podman');
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(
    conf,
    [
      '[containers]',
      'default_ulimits = []',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${dir}/events.log"`,
      `tmp_dir = "${dir}/tmp"`,
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  const storage = path.join(dir, 'storage.conf');
  fs.writeFileSync(
    storage,
    ['[storage]', 'driver = "overlay"', `runroot = "${dir}/runroot"`, `graphroot = "${dir}/root"`, ''].join('\n'),
  );
  const env = benchEnv({ CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage });
  const image = 'localhost/scr-bench-busybox:latest';
  const tar = path.join(dir, 'rootfs.tar');
  execFileSync('tar', ['-C', ROOTFS, '-cf', tar, '.']);
  const imported = spawnSync('podman', ['import', tar, image], { env, encoding: 'utf8' });
  if (imported.status !== 0) return `podman import failed: ${imported.stderr.trim().split('\n').at(-1)}`;
  const argv = [
    'podman',
    'run',
    '--rm',
    '--network',
    'none',
    '--cgroup-parent',
    `/scratch/${cgroupName}/podman`,
    image,
    '/bin/true',
  ];
  const probe = spawnSync(argv[0] ?? 'podman', argv.slice(1), { env, encoding: 'utf8' });
  if (probe.status !== 0) return `podman run failed: ${probe.stderr.trim().split('\n').at(-1)}`;
  return {
    run: async () => {
      await timeOk(argv, { env });
    },
    cleanup: () => {
      spawnSync('podman', ['rmi', '--force', image], { env, stdio: 'ignore' });
      unmountBelow(dir);
    },
  };
}

/** The steps of ctr's timeline, in order, with what each one is. */
const PHASES: Array<[from: string, to: string, what: string]> = [
  ['', 'spec', "node's start-up and ctr's modules, flags parsed, spec in hand"],
  ['spec', 'created', 'state dir, name, cgroup, overlay dirs, network namespace'],
  ['created', 'launch', 'init bundle checked, launcher argv'],
  ['launch', 'ready', "the init's own start: env, unshare, node, init bundle, plan read"],
  ['ready', 'go', "the host's part at the sync point: the cgroup join"],
  ['go', 'exec', "the init's plan: mounts, pivot_root, masked paths, capabilities, seccomp"],
  ['exec', 'running', 'execve seen from the host'],
  ['running', 'exited', '/bin/true runs'],
  ['exited', 'removed', 'teardown: network namespace, overlay dirs, cgroup, state'],
];

function at(marks: Mark[], what: string): number {
  if (what === '') return 0;
  const m = marks.find((x) => x.what === what);
  if (!m) throw new Error(`ctr's timeline has no mark "${what}"`);
  return m.at;
}

/** What our lib adds between spec in hand and command exec'd: that span, less the init's node start-up. */
export function libSetupMs(marks: Mark[]): number {
  return at(marks, 'running') - at(marks, 'spec') - (at(marks, 'ready') - at(marks, 'launch'));
}

export async function startBenchmarks(opts: { runs: number; work: string; log: (l: string) => void }): Promise<Row[]> {
  await ensureBundle(CTR_BUNDLE);
  await ensureBundle(INIT_BUNDLE);
  const cgroupName = `scrbench${newId()}`;
  const parentsBefore = scratchParents();
  const timings: Mark[][] = [];
  const timingsFile = path.join(opts.work, 'timings.json');
  const ctrRun = (network: 'none' | 'bridge') => async () => {
    await timeOk([process.execPath, CTR, 'run', '--rm', '--network', network, ROOTFS, '/bin/true'], {
      env: benchEnv({ SCRATCH_TIMINGS: timingsFile }),
    });
    if (network === 'none') timings.push(JSON.parse(fs.readFileSync(timingsFile, 'utf8')) as Mark[]);
    if (process.env.BENCH_DEBUG) opts.log(fs.readFileSync(timingsFile, 'utf8'));
  };
  const sh = await lessonContainer('sh');
  const ts = await lessonContainer('ts');
  const contenders: Record<string, () => Promise<void>> = {
    floor: async () => {
      const ns = ['--uts', '--ipc', '--pid', '--mount', '--net', '--cgroup', '--fork'];
      await timeOk(['unshare', ...ns, 'chroot', ROOTFS, '/bin/true']);
    },
    sh,
    ts,
    ctrNone: ctrRun('none'),
    ctrBridge: ctrRun('bridge'),
  };
  const notes: string[] = [];
  let podman: Podman | undefined;
  try {
    if (onPath('runc')) {
      const runc = prepareRunc(opts.work, cgroupName);
      contenders.runc = runc.run;
      contenders.runcOverlay = runc.runWithOverlay;
    } else notes.push('runc is not installed (apt-get install runc): not measured');
    const p = preparePodman(opts.work, cgroupName);
    if (typeof p === 'string') notes.push(`podman not measured: ${p}`);
    else {
      podman = p;
      contenders.podman = p.run;
    }
    opts.log(`  start: ${Object.keys(contenders).join(', ')} — ${opts.runs} rounds after a warm-up`);
    const s = await sideBySide(contenders, opts.runs, WARMUP);
    timings.splice(0, WARMUP); // the warm-up's
    const row = (what: string, key: string, extra: Partial<Row> = {}): Row[] =>
      s[key] ? [{ group: 'start', what, value: median(s[key]), unit: 'ms', samples: s[key], ...extra }] : [];
    const ctrMs = median(s.ctrNone ?? []);
    const rows: Row[] = [
      ...row('floor: unshare (all namespaces) + chroot ROOTFS /bin/true', 'floor'),
      ...row('lesson-04 container, sh init', 'sh'),
      ...row('lesson-04 container, TypeScript init', 'ts', {
        goal: { op: '<=', value: median(s.sh ?? []), text: 'no slower than the sh init' },
      }),
      ...row('ctr run --rm --network none (whole process)', 'ctrNone', { goal: { op: '<=', value: 150 } }),
      ...row('ctr run --rm, default bridge network (whole process)', 'ctrBridge'),
      ...row('runc run, the same rootfs as an OCI bundle', 'runc'),
      ...row('runc run + overlay mount/unmount around it', 'runcOverlay'),
      ...row('podman run --rm --network none (runc, overlay)', 'podman'),
    ];
    if (s.podman) {
      rows.push({
        group: 'start',
        what: "podman's time ÷ ctr's (ctr run --rm --network none)",
        value: median(s.podman) / ctrMs,
        unit: '×',
        goal: { op: '>=', value: 1, text: 'ctr faster than podman (≥ 1)' },
      });
    }
    for (const [from, to, what] of PHASES) {
      const xs = timings.map((m) => at(m, to) - at(m, from));
      rows.push({ group: 'start', what: `ctr: ${what}`, value: median(xs), unit: 'ms', samples: xs });
    }
    const setup = timings.map(libSetupMs);
    rows.push({
      group: 'start',
      what: "ctr: the setup our lib adds, spec in hand → command exec'd (less the init's node start-up)",
      value: median(setup),
      unit: 'ms',
      samples: setup,
      goal: { op: '<=', value: 30 },
    });
    for (const n of notes) opts.log(`  ${n}`);
    return rows.map((r) => (notes.length > 0 && r.what.startsWith('floor') ? { ...r, note: notes.join('; ') } : r));
  } finally {
    podman?.cleanup();
    removeForeignCgroups(cgroupName, parentsBefore);
  }
}
