/**
 * User namespaces: ids inside, ids outside.
 *
 * Every other namespace hides something from a process; a user namespace changes who the process *is*. Inside
 * it, uids and gids are numbered afresh, and two small files say how they line up with the host's:
 * /proc/<pid>/uid_map and gid_map, one line per range, `inside outside count`. With the line `0 1000 1`, uid 0
 * inside — root — is uid 1000 outside, an ordinary user. The process holds every capability *inside* (it may
 * mount, set the hostname, make devices… in the namespaces its user namespace owns), and none outside: to the
 * host's files it is uid 1000, and an id no line maps shows up as the overflow id, 65534 (`nobody`).
 *
 * Who may write a map decides what a rootless container can be. A process writing its own namespace's map
 * without privilege may map exactly one id — its own — and, for the gid map, must first write `deny` to
 * /proc/<pid>/setgroups: otherwise, root inside could drop a supplementary group with setgroups(2) and read a
 * file whose *group* was denied access (mode 0604: everyone but the group may read). More ids (65,536, so that
 * an image's uid 1000 and its root are different users) need root's blessing: /etc/subuid and /etc/subgid grant
 * a user ranges of ids, and the setuid helpers newuidmap and newgidmap (package uidmap) write maps within them.
 * Root itself may write any map directly (`ctr run --userns`).
 *
 * A map can be written once, and must be written before the container's init starts: a process that execs in a
 * user namespace whose map does not list its uid loses every capability there, for good. So the launcher stops
 * between `unshare --user` and the init (lib/container/launch.ts), and the host writes the maps while it waits.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from './cleanup.ts';
import type { HostOp } from './hostops.ts';
import type { Runner } from './runner.ts';
import type { ContainerSpec, IdMapping } from './spec.ts';

/** The ids a subordinate range usually holds: a whole 16-bit id space, as an image expects. */
export const SUBID_COUNT = 65536;

/** Where `ctr run --userns` looks first for the ids its containers get (docker's remapped root is similar). */
export const REMAP_BASE = 1_000_000;

export const SUBUID_FILE = '/etc/subuid';
export const SUBGID_FILE = '/etc/subgid';

export interface SubidRange {
  start: number;
  count: number;
}

/**
 * The lines of a uid_map (or gid_map) for a rootless container — the key step of lesson 09, and its exercise.
 * Container id 0 is the user's own id (`hostId`), so the container's root owns whatever the user owns; with a
 * subordinate range, ids 1 and up are that range, so an image's other users exist too. Each line is
 * `inside outside count`.
 */
export function uidMapLines(hostId: number, sub?: SubidRange): string[] {
  return [`0 ${hostId} 1`, ...(sub ? [`1 ${sub.start} ${sub.count}`] : [])];
}

/** `0 1000 1` → { containerID: 0, hostID: 1000, size: 1 }; a line that is not three numbers is an error. */
export function parseMapLines(lines: readonly string[]): IdMapping[] {
  return lines.map((line) => {
    const parts = line.trim().split(/\s+/);
    const [containerID, hostID, size] = parts.map(Number);
    if (parts.length !== 3 || ![containerID, hostID, size].every((n) => Number.isInteger(n) && (n ?? -1) >= 0)) {
      throw new Error(`not a map line (inside outside count): "${line}"`);
    }
    return { containerID: containerID ?? 0, hostID: hostID ?? 0, size: size ?? 0 };
  });
}

/** The text the kernel wants in uid_map: one line per mapping, written in a single write(2). */
export function mapText(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n');
}

/** Parse /proc/<pid>/uid_map as the kernel prints it (columns padded with spaces). */
export function parseProcMap(text: string): IdMapping[] {
  return parseMapLines(text.split('\n').filter((l) => l.trim() !== ''));
}

/** How many ids a map gives the container. */
export function mappedCount(maps: readonly IdMapping[]): number {
  return maps.reduce((n, m) => n + m.size, 0);
}

// ---- who the rootless user is ----------------------------------------------------------------------------------

export interface HostUser {
  name: string;
  uid: number;
  gid: number;
}

/** `name:x:uid:gid:…` lines of /etc/passwd. */
export function parsePasswd(text: string): HostUser[] {
  return text.split('\n').flatMap((line) => {
    const [name, , uid, gid] = line.split(':');
    return name && /^\d+$/.test(uid ?? '') && /^\d+$/.test(gid ?? '')
      ? [{ name, uid: Number(uid), gid: Number(gid) }]
      : [];
  });
}

/**
 * Who a lesson's rootless part runs as: the learner who ran sudo (sudo says who in SUDO_USER, SUDO_UID and
 * SUDO_GID), or — run by root itself — `nobody`, the user who owns nothing.
 */
export function rootlessUser(env: NodeJS.ProcessEnv, passwd: readonly HostUser[]): HostUser {
  const uid = Number(env.SUDO_UID);
  const gid = Number(env.SUDO_GID);
  if (env.SUDO_USER && Number.isInteger(uid) && uid > 0 && Number.isInteger(gid)) {
    return { name: env.SUDO_USER, uid, gid };
  }
  return passwd.find((u) => u.name === 'nobody') ?? { name: 'nobody', uid: 65534, gid: 65534 };
}

export function readPasswd(): HostUser[] {
  try {
    return parsePasswd(fs.readFileSync('/etc/passwd', 'utf8'));
  } catch {
    return [];
  }
}

// ---- /etc/subuid and /etc/subgid ----------------------------------------------------------------------------

export interface SubidEntry {
  /** A user name, or a uid written as a number. */
  owner: string;
  start: number;
  count: number;
}

/** `name:start:count` lines; comments, blanks and malformed lines are skipped (as shadow's tools do). */
export function parseSubids(text: string): SubidEntry[] {
  return text.split('\n').flatMap((line) => {
    const m = /^([^:#\s][^:]*):(\d+):(\d+)\s*$/.exec(line.trim());
    return m ? [{ owner: m[1] ?? '', start: Number(m[2]), count: Number(m[3]) }] : [];
  });
}

/** The user's first range (newuidmap accepts any range of theirs; the first is the one `--map-auto` takes). */
export function subidRangeOf(
  entries: readonly SubidEntry[],
  user: { name: string; id: number },
): SubidRange | undefined {
  const hit = entries.find((e) => e.owner === user.name || e.owner === String(user.id));
  return hit ? { start: hit.start, count: hit.count } : undefined;
}

export function readSubids(file: string): SubidEntry[] {
  try {
    return parseSubids(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/**
 * The first block of `count` ids at or above `base` that no entry of /etc/subuid or /etc/subgid grants anyone:
 * the ids `ctr run --userns` gives its containers, so they are never a user's rootless ids as well.
 */
export function freeIdBlock(entries: readonly SubidEntry[], base = REMAP_BASE, count = SUBID_COUNT): number {
  let start = base;
  for (;;) {
    const clash = entries.find((e) => start < e.start + e.count && e.start < start + count);
    if (!clash) return start;
    start = clash.start + clash.count;
  }
}

/** The maps of `ctr run --userns`: container ids 0–65535 are host ids from `start` on, for uids and gids. */
export function remappedIds(
  start: number,
  count = SUBID_COUNT,
): { uidMappings: IdMapping[]; gidMappings: IdMapping[] } {
  const maps = [{ containerID: 0, hostID: start, size: count }];
  return { uidMappings: maps, gidMappings: maps.map((m) => ({ ...m })) };
}

// ---- writing the maps ------------------------------------------------------------------------------------------

/** `setpriv` in front of a command: it runs as this uid and gid, with no supplementary groups, no capabilities. */
export function asUser(user: { uid: number; gid: number }, argv: readonly string[]): string[] {
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...argv];
}

/** Who writes the maps: root directly, or the unprivileged user who started the container. */
export type MapWriter = { as: 'root' } | { as: 'user'; uid: number; gid: number };

/** One thing the host does at the user-namespace sync point: a command, or a file written by this process. */
export type MapStep = string[] | { op: HostOp };

/**
 * A write of `text` to `file` done by the user: a one-line shell, the values as parameters. bash, not sh:
 * dash's echo reports any failed write as "I/O error", bash names the errno the kernel gave.
 */
function userWrite(user: { uid: number; gid: number }, file: string, text: string): string[] {
  return asUser(user, ['bash', '-c', 'echo "$2" > "$1"', 'scr-map', file, text]);
}

/** `newuidmap PID 0 1000 1 1 100000 65536`: the helper takes the lines as numbers in a row. */
function helperArgv(helper: 'newuidmap' | 'newgidmap', pid: number | string, maps: readonly IdMapping[]): string[] {
  return [helper, String(pid), ...maps.flatMap((m) => [m.containerID, m.hostID, m.size].map(String))];
}

/** A map an unprivileged process may write itself: exactly one id, its own. */
function isSelfMap(maps: readonly IdMapping[], own: number): boolean {
  return maps.length === 1 && maps[0]?.size === 1 && maps[0].hostID === own;
}

/**
 * What the host runs, at the sync point, to give the container at `pid` (`$PID` when only shown) its maps:
 * - root writes both files itself, and leaves setgroups allowed;
 * - the user writes a map of their own id themselves (the gid map only after `deny` in setgroups), and has
 *   newuidmap / newgidmap write anything wider, within their /etc/subuid and /etc/subgid ranges.
 */
export function idMapSteps(
  pid: number | string,
  maps: { uidMappings: readonly IdMapping[]; gidMappings: readonly IdMapping[] },
  writer: MapWriter,
): MapStep[] {
  const proc = (file: string) => `/proc/${pid}/${file}`;
  if (writer.as === 'root') {
    return [
      { op: { kind: 'write', path: proc('uid_map'), value: mapText(maps.uidMappings) } },
      { op: { kind: 'write', path: proc('gid_map'), value: mapText(maps.gidMappings) } },
    ];
  }
  const uid = isSelfMap(maps.uidMappings, writer.uid)
    ? [userWrite(writer, proc('uid_map'), mapText(maps.uidMappings))]
    : [asUser(writer, helperArgv('newuidmap', pid, maps.uidMappings))];
  const gid = isSelfMap(maps.gidMappings, writer.gid)
    ? [userWrite(writer, proc('setgroups'), 'deny'), userWrite(writer, proc('gid_map'), mapText(maps.gidMappings))]
    : [asUser(writer, helperArgv('newgidmap', pid, maps.gidMappings))];
  return [...uid, ...gid];
}

/** The spec's maps (validateSpec has made sure a user namespace has both). */
export function userMaps(spec: ContainerSpec): { uidMappings: IdMapping[]; gidMappings: IdMapping[] } {
  return { uidMappings: spec.linux.uidMappings ?? [], gidMappings: spec.linux.gidMappings ?? [] };
}

/** Do the steps, in order, through the runner (so each is echoed and recorded, and skipped in --explain). */
export async function writeIdMaps(runner: Runner, steps: readonly MapStep[]): Promise<void> {
  for (const s of steps) {
    if (Array.isArray(s)) await runner.run(s);
    else runner.apply((s as { op: HostOp }).op);
  }
}

// ---- a range for the length of a run -------------------------------------------------------------------------

/** Where a run that granted a user a range for its length notes it (its state dir): `npm run clean` finds it. */
export const SUBID_GRANT_FILE = 'subids';

/** Where ranges granted for the length of a run are taken: above ctr's remapped ids, clear of every grant. */
export const GRANT_BASE = 2_000_000;

export interface SubidGrant {
  user: string;
  range: SubidRange;
}

const span = (r: SubidRange) => `${r.start}-${r.start + r.count - 1}`;

/** `usermod --add-subuids 2000000-2065535 --add-subgids 2000000-2065535 USER`: the range in both files. */
export function grantArgv(g: SubidGrant): string[] {
  return ['usermod', '--add-subuids', span(g.range), '--add-subgids', span(g.range), g.user];
}

/**
 * The same range taken back: exactly its line, whatever else the user holds. Not `usermod --del-subuids`,
 * which refuses while the user has a process running — and the learner always has one, their shell.
 */
export function revokeArgv(g: SubidGrant): string[] {
  const line = `${g.user}:${g.range.start}:${g.range.count}`.replace(/[.[\]*^$\\/]/g, '\\$&');
  return ['sed', '-i', `/^${line}$/d`, SUBUID_FILE, SUBGID_FILE];
}

export function grantNote(g: SubidGrant): string {
  return `${g.user} ${g.range.start} ${g.range.count}`;
}

/** The grant a state dir's note records, if it holds one. */
export function readGrantNote(stateDir: string): SubidGrant | undefined {
  try {
    const [user, start, count] = fs.readFileSync(path.join(stateDir, SUBID_GRANT_FILE), 'utf8').trim().split(' ');
    return user && start && count ? { user, range: { start: Number(start), count: Number(count) } } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Give `user` a range in /etc/subuid and /etc/subgid for the length of a run (a machine where they have none):
 * the note for `npm run clean` first, then the removal on the cleanup stack, then usermod.
 */
export async function grantSubids(
  runner: Runner,
  cleanup: CleanupStack,
  stateDir: string,
  grant: SubidGrant,
): Promise<void> {
  const note = path.join(stateDir, SUBID_GRANT_FILE);
  runner.apply({ kind: 'write', path: note, value: grantNote(grant) });
  cleanup.push(`take back ${grant.user}'s ids ${span(grant.range)}`, async () => {
    await runner.run(revokeArgv(grant), { reject: false });
    runner.apply({ kind: 'remove', path: note });
  });
  await runner.run(grantArgv(grant));
}
