/**
 * The suite's last word: the host is as it was before the tests ran.
 *
 * Registered as a vitest global setup (vitest.config.ts): before any test file runs it takes a snapshot of what the
 * workshop could leave on a machine — mount points, network links, network namespaces, iptables rules (both
 * backends), cgroups below the `scratch` parents, the entries under /run/scratch and /var/lib/scratch/containers —
 * and after the last file it takes another and compares them.
 *
 * On a shared machine other people's runs come and go meanwhile, so a difference only counts if it carries one of
 * the run ids the suite noted (test/helpers/reliability.ts's recordIds). In CI (CI=true) the machine is fresh and
 * ours alone: there every difference counts, whoever made it. SCRATCH_HOST_CHECK=whole|scoped|off overrides that.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESERVATION_DIRS } from '../../lib/leftovers.ts';
import { STATE_ROOT } from '../../lib/names.ts';
import { SUITE_IDS_ENV } from '../helpers/reliability.ts';

export interface HostSnapshot {
  mounts: string[];
  links: string[];
  netns: string[];
  rules: string[];
  cgroups: string[];
  state: string[];
}

function lines(argv: string[]): string[] {
  try {
    return execFileSync(argv[0] ?? 'true', argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

function walk(root: string, depth: number): string[] {
  const out: string[] = [];
  const go = (dir: string, d: number) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      out.push(p);
      if (e.isDirectory() && d > 1) go(p, d - 1);
    }
  };
  go(root, depth);
  return out;
}

/** Every cgroup directory below a `scratch` parent, in every hierarchy, and the parents themselves. */
function scratchCgroups(): string[] {
  const out: string[] = [];
  for (const h of fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup') : []) {
    const parent = path.join('/sys/fs/cgroup', h, 'scratch');
    if (!fs.existsSync(parent)) continue;
    out.push(parent);
    const dirs = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        out.push(path.join(d, e.name));
        dirs(path.join(d, e.name));
      }
    };
    try {
      dirs(parent);
    } catch {
      // removed meanwhile
    }
  }
  // v2 leaves a parent: /sys/fs/cgroup/scratch itself
  if (fs.existsSync('/sys/fs/cgroup/scratch') && !out.includes('/sys/fs/cgroup/scratch'))
    out.push('/sys/fs/cgroup/scratch');
  return out;
}

const NETNS_DIR = '/run/netns';

/** The mount points of a mountinfo text, less the one mount the machine keeps once iproute2 has made it. */
export function mountPoints(mountinfo: string): string[] {
  // The first `ip netns add` on a machine makes /run/netns a mount of its own and keeps it for good (iproute2
  // needs it shared): the machine's, not a leftover. A namespace's own mount below it still counts.
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m !== NETNS_DIR);
}

/**
 * The state entries that count, less the registries themselves (/run/scratch/.names, .runs): the first name or run
 * claimed makes one, and releasing the last name removes `.names` again — neither is a leftover. What is in them
 * counts.
 */
export function countedState(paths: readonly string[]): string[] {
  const registries = RESERVATION_DIRS.map((d) => path.join(STATE_ROOT, d));
  return paths.filter((p) => !registries.includes(p));
}

export function takeSnapshot(): HostSnapshot {
  return {
    mounts: mountPoints(fs.readFileSync('/proc/self/mountinfo', 'utf8')),
    links: lines(['ip', '-o', 'link', 'show']).map((l) => l.split(/[:@\s]+/)[1] ?? ''),
    netns: lines(['ip', 'netns', 'list']).map((l) => l.split(' ')[0] ?? ''),
    rules: ['iptables-nft-save', 'iptables-legacy-save'].flatMap((save) =>
      lines([save])
        .filter((l) => !l.startsWith('#') && !l.startsWith(':') && l !== 'COMMIT' && !l.startsWith('*'))
        .map((l) => `${save}: ${l}`),
    ),
    cgroups: scratchCgroups(),
    state: countedState([...walk(STATE_ROOT, 3), ...walk('/var/lib/scratch/containers', 1)]),
  };
}

/** What is in `after` and not in `before` (as many times as it is more often there), per kind. */
export function added(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  for (const kind of Object.keys(before) as Array<keyof HostSnapshot>) {
    const count = new Map<string, number>();
    for (const x of before[kind]) count.set(x, (count.get(x) ?? 0) + 1);
    for (const x of after[kind]) {
      const n = count.get(x) ?? 0;
      if (n > 0) count.set(x, n - 1);
      else out.push(`${kind}: ${x}`);
    }
  }
  return out;
}

export type CheckMode = 'whole' | 'scoped' | 'off';

export function checkMode(env: NodeJS.ProcessEnv = process.env): CheckMode {
  const m = env.SCRATCH_HOST_CHECK;
  if (m === 'whole' || m === 'scoped' || m === 'off') return m;
  return env.CI === 'true' ? 'whole' : 'scoped';
}

/** The differences that count: all of them (whole), or those naming one of the suite's ids (scoped). */
export function differences(before: HostSnapshot, after: HostSnapshot, mode: CheckMode, ids: readonly string[]) {
  const diff = [...added(before, after), ...added(after, before).map((d) => `gone: ${d}`)];
  if (mode === 'whole') return diff;
  return diff.filter((d) => ids.some((id) => id.length >= 4 && d.includes(id)));
}

export default function setup(): (() => void) | undefined {
  const mode = checkMode();
  if (mode === 'off' || process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-suite-'));
  const idsFile = path.join(dir, 'ids');
  fs.writeFileSync(idsFile, '');
  process.env[SUITE_IDS_ENV] = idsFile;
  const before = takeSnapshot();
  return () => {
    const ids = fs.readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
    fs.rmSync(dir, { recursive: true, force: true });
    const diff = differences(before, takeSnapshot(), mode, ids);
    if (diff.length > 0) {
      // vitest reports an error thrown here but still exits 0: the exit code is set too.
      process.exitCode = 1;
      throw new Error(
        `the host is not as it was before the tests (${mode} check, ${ids.length} run ids noted):\n  ${diff.join('\n  ')}`,
      );
    }
    console.log(`\n  host check (${mode}): as it was before the tests (${ids.length} run ids noted)\n`);
  };
}
