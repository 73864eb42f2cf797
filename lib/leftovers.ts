/**
 * Leftovers: what a killed or crashed run left on the host, found by name alone.
 *
 * The cleanup stack undoes everything a run made, but a `kill -9` or a power cut gives it no chance. Because
 * everything the workshop creates carries the `scr` prefix or lives under a `scratch` directory (see names.ts),
 * what is left can be found without any record of the run: mounts under /run/scratch or /var/lib/scratch,
 * cgroups below the `scratch` parent, links and network namespaces named `scr…`, iptables rules whose comment
 * starts with `scr:`, address and port leases (lib/network/ipam.ts), id ranges a run granted a user in /etc/subuid
 * for its length (noted in its state directory, lib/userns.ts), state directories, name and run-id reservations,
 * containers' own directories (an overlay's upper and work), and the processes still inside those cgroups, rooted
 * in those directories or named as a container of ours. `npm run clean` removes them, in an order that works:
 * processes, then mounts (deepest first), then rules and network, cgroups, leases, state and directories.
 *
 * Built rootfs and image directories under /var/lib/scratch are not leftovers: they are kept on purpose. A
 * container's own directory there (its upper and work) is, as its state directory is: a `ctr` container kept
 * after it exited is listed until `ctr rm`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readMountinfo } from './mountinfo.ts';
import { CGROUP_PARENT, CONTAINERS_ROOT, LIB_ROOT, PREFIX, STATE_ROOT } from './names.ts';
import { ourRules, parseRules } from './network/iptables.ts';
import { claims, LEASES, PORTS } from './network/ipam.ts';
import { createRunner, type Runner } from './runner.ts';
import { readGrantNote, revokeArgv } from './userns.ts';

export type LeftoverKind =
  | 'process'
  | 'mount'
  | 'rule'
  | 'link'
  | 'netns'
  | 'cgroup'
  | 'lease'
  | 'subid'
  | 'state'
  | 'reservation'
  | 'directory';

/**
 * Directories under /run/scratch whose entries each belong to one run: a name reservation (`.names/web/<id>`,
 * lib/container/lifecycle.ts) and a run-id claim (`.runs/<id>`, lib/run-ids.ts). Listed entry by entry, so one
 * run's can be found and removed without touching another's.
 */
export const RESERVATION_DIRS = ['.names', '.runs'];

export interface Leftover {
  kind: LeftoverKind;
  /** What it is: a PID, a mount point, a link name, a cgroup directory, a state directory. */
  name: string;
  /** Where it was found, when the name alone does not say which run it belongs to (a process's cgroup or root). */
  via?: string;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Mount points that belong to the workshop: under its directories, or a path component with the prefix. */
export function isOurMountPoint(mountPoint: string): boolean {
  if (mountPoint === STATE_ROOT || mountPoint.startsWith(`${STATE_ROOT}/`)) return true;
  if (mountPoint.startsWith(`${LIB_ROOT}/`)) return true;
  // Names made from a run id start with the lesson number: scr05ab12. (Not "script", not "scratchpad".)
  return mountPoint.split('/').some((c) => c.startsWith(PREFIX) && /^\d/.test(c.slice(PREFIX.length)));
}

/** The `scratch` cgroup parents on this host: one per v1 controller hierarchy, or one on v2. */
export function cgroupParents(root = CGROUP_ROOT): string[] {
  const candidates = [path.join(root, CGROUP_PARENT)];
  try {
    for (const d of fs.readdirSync(root)) candidates.push(path.join(root, d, CGROUP_PARENT));
  } catch {
    return [];
  }
  return candidates.filter((c) => {
    try {
      return fs.statSync(c).isDirectory();
    } catch {
      return false;
    }
  });
}

/** Every cgroup below the parents, deepest first (the order rmdir needs). */
export function scratchCgroups(root = CGROUP_ROOT): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      // Another run removed it (the last run out takes the empty parent) between the listing and now: not there.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const child = path.join(dir, e.name);
      walk(child);
      out.push(child);
    }
  };
  for (const parent of cgroupParents(root)) walk(parent);
  return out;
}

function cgroupPids(dir: string): number[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The HOSTNAME in a process's environment: a container's own name, `scr<id>` unless the run chose another. */
function hostnameEnv(pid: string): string | undefined {
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.find((e) => e.startsWith('HOSTNAME='))?.slice('HOSTNAME='.length);
  } catch {
    return undefined;
  }
}

/**
 * Processes of ours outside any cgroup of ours: those whose root directory is one of ours (a chroot into the
 * rootfs, a container on an overlay), those whose environment names a container of ours (HOSTNAME=scr<id>, as
 * every container and its launcher get it) — the containers of lessons 02–04, which have no cgroup, and which a
 * run killed with -9 leaves running — and helpers started with a run's state directory in their arguments.
 * `via` says where each was found, the run's id included when it is known.
 */
function processesOfOurs(): Array<{ pid: number; via: string }> {
  const out: Array<{ pid: number; via: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const root = fs.readlinkSync(`/proc/${name}/root`);
      const ours = root.startsWith(`${LIB_ROOT}/`) || root.startsWith(`${STATE_ROOT}/`);
      const host = hostnameEnv(name);
      const named = host?.startsWith(PREFIX) ? `HOSTNAME=${host}` : undefined;
      // A helper a run started with its state directory in its arguments (lesson 07's registry: its config there).
      const args = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const stateArg = args.find((a) => a.startsWith(`${STATE_ROOT}/`));
      if (ours || named || stateArg) {
        out.push({ pid: Number(name), via: [ours ? root : '', named ?? '', stateArg ?? ''].join(' ').trim() });
      }
    } catch {
      // Gone, or a kernel thread.
    }
  }
  return out;
}

async function linkNames(runner: Runner, args: string[]): Promise<string[]> {
  const r = await runner.run(['ip', ...args], { reject: false });
  return r.stdout
    .split('\n')
    .map((l) => l.split(/[:@\s]+/).find((w) => w.startsWith(PREFIX)) ?? '')
    .filter(Boolean);
}

/**
 * iptables rules with a `scr:` comment, in either backend (read with the -save commands, which change nothing),
 * each named by the command that would add it again: `iptables-nft -t nat -A POSTROUTING … --comment scr:…`.
 */
async function ourIptablesRules(runner: Runner): Promise<string[]> {
  const out: string[] = [];
  for (const binary of ['iptables-nft', 'iptables-legacy']) {
    const r = await runner.run([`${binary}-save`], { reject: false });
    if (r.exitCode !== 0) continue;
    for (const rule of ourRules(parseRules(r.stdout)))
      out.push(`${binary} -t ${rule.table} -A ${rule.words.join(' ')}`);
  }
  return out;
}

/** Address and port leases in the bridges' state directories (/run/scratch/scr0.net…/leases/10.30.0.2 -> id). */
function networkLeases(): Array<{ path: string; owner: string }> {
  const out: Array<{ path: string; owner: string }> = [];
  let dirs: string[] = [];
  try {
    dirs = fs.readdirSync(STATE_ROOT).filter((d) => d.startsWith(PREFIX));
  } catch {
    return out;
  }
  for (const d of dirs) {
    for (const sub of [LEASES, PORTS]) {
      const dir = path.join(STATE_ROOT, d, sub);
      for (const [name, owner] of claims(dir)) out.push({ path: path.join(dir, name), owner });
    }
  }
  return out;
}

/** Name reservations and run-id claims, each with the run it belongs to. */
function reservations(): Array<{ path: string; owner: string }> {
  const out: Array<{ path: string; owner: string }> = [];
  const list = (dir: string) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const name of list(path.join(STATE_ROOT, '.names'))) {
    const dir = path.join(STATE_ROOT, '.names', name);
    out.push({ path: dir, owner: list(dir)[0] ?? '' });
  }
  for (const id of list(path.join(STATE_ROOT, '.runs')))
    out.push({ path: path.join(STATE_ROOT, '.runs', id), owner: id });
  return out;
}

/** Containers' own directories (an overlay root's upper and work): /var/lib/scratch/containers/<id>. */
function containerDirs(): string[] {
  try {
    return fs.readdirSync(CONTAINERS_ROOT).map((e) => path.join(CONTAINERS_ROOT, e));
  } catch {
    return [];
  }
}

/** Everything with the workshop's names that is on the host now. */
export async function scanLeftovers(runner: Runner = createRunner()): Promise<Leftover[]> {
  const cgroups = scratchCgroups();
  const pids = new Map<number, string>();
  for (const c of cgroups) for (const pid of cgroupPids(c)) pids.set(pid, c);
  for (const { pid, via } of processesOfOurs()) if (!pids.has(pid)) pids.set(pid, via);
  pids.delete(process.pid);
  const mounts = readMountinfo()
    .filter((m) => isOurMountPoint(m.mountPoint))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  let state: string[] = [];
  try {
    // The reservation directories are listed entry by entry below; an empty one is no run's leftover.
    state = fs
      .readdirSync(STATE_ROOT)
      .filter((e) => !RESERVATION_DIRS.includes(e))
      .map((e) => path.join(STATE_ROOT, e));
  } catch {
    state = [];
  }
  const links = await linkNames(runner, ['-o', 'link', 'show']);
  const netns = (await runner.run(['ip', 'netns', 'list'], { reject: false })).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
  const rules = await ourIptablesRules(runner);
  return [
    ...[...pids].map(([p, via]) => ({ kind: 'process' as const, name: String(p), via })),
    ...mounts.map((m) => ({ kind: 'mount' as const, name: m.mountPoint })),
    ...rules.map((r) => ({ kind: 'rule' as const, name: r })),
    ...links.map((l) => ({ kind: 'link' as const, name: l })),
    ...netns.map((n) => ({ kind: 'netns' as const, name: n })),
    ...cgroups.map((c) => ({ kind: 'cgroup' as const, name: c })),
    ...networkLeases().map((l) => ({ kind: 'lease' as const, name: l.path, via: l.owner })),
    ...reservations().map((r) => ({ kind: 'reservation' as const, name: r.path, via: r.owner })),
    ...state.flatMap((s) => {
      const g = readGrantNote(s);
      return g ? [{ kind: 'subid' as const, name: `${g.user}:${g.range.start}:${g.range.count}`, via: s }] : [];
    }),
    ...state.map((s) => ({ kind: 'state' as const, name: s })),
    ...containerDirs().map((d) => ({ kind: 'directory' as const, name: d })),
  ];
}

/**
 * Whether a leftover belongs to the run with this id: its name, or the cgroup or root a process was found by,
 * contains the id. Run ids are unique while the run lives, so two runs at once never claim each other's things.
 */
export function belongsTo(l: Leftover, id: string): boolean {
  return l.name.includes(id) || (l.via?.includes(id) ?? false);
}

/**
 * Leftovers as one line each ("mount /run/scratch/05ab12/rootfs"); empty when the host is clean. With `ids`,
 * only those of these runs: what a test or a run checks about itself, whatever else runs on the machine.
 */
export async function findLeftovers(runner: Runner = createRunner(), ids?: readonly string[]): Promise<string[]> {
  const all = await scanLeftovers(runner);
  return all.filter((l) => !ids || ids.some((id) => belongsTo(l, id))).map((l) => `${l.kind} ${l.name}`);
}

/** The leftovers of one run (or a few): `expect(await leftoversOf(r.id)).toEqual([])`. */
export function leftoversOf(...ids: string[]): Promise<string[]> {
  return findLeftovers(createRunner(), ids);
}

/** The command that removes one leftover (what `npm run clean` runs and shows). */
export function removalArgv(l: Leftover): string[] {
  switch (l.kind) {
    case 'process':
      return ['kill', '-KILL', l.name];
    case 'mount':
      // Lazy: a mount still busy (a shell cd'ed into it) is detached now and freed when released.
      return ['umount', '--lazy', l.name];
    case 'rule': {
      // The name is the command that adds it (`iptables-nft -t nat -A CHAIN …`): the same words after -D delete it.
      const [binary = 'iptables', ...words] = l.name.split(' ');
      return [binary, '-w', ...words.map((w, i) => (w === '-A' && i === 2 ? '-D' : w))];
    }
    case 'link':
      return ['ip', 'link', 'delete', l.name];
    case 'netns':
      return ['ip', 'netns', 'delete', l.name];
    case 'cgroup':
      return ['rmdir', l.name];
    case 'lease':
      return ['rm', '-f', l.name];
    case 'subid': {
      const [user = '', start = '0', count = '0'] = l.name.split(':');
      return revokeArgv({ user, range: { start: Number(start), count: Number(count) } });
    }
    case 'reservation':
    case 'state':
    case 'directory':
      return ['rm', '-rf', '--one-file-system', l.name];
  }
}
