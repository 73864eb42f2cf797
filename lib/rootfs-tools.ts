/**
 * Which commands a root filesystem has, seen from the host.
 *
 * A container can only run programs that are inside its root filesystem: after chroot or pivot_root, `ps`
 * means the rootfs's /bin/ps, or nothing. Root filesystems differ a lot: the busybox one has over 300 commands
 * in one binary, a Debian "minbase" (what `debootstrap --variant=minbase` and a slim image's `docker export`
 * give) has sh, coreutils and mount but no ps and no ip. So the lessons take their evidence with what every
 * rootfs has — `sh`, `ls`, `cat` and the files in /proc — and check, before they create anything, that the
 * rootfs has the few commands they run inside it.
 *
 * Looking a command up means following symlinks the way the container will: inside the rootfs. `/bin` is often
 * a link to `usr/bin`, and busybox's applets are links to `busybox`; an absolute link target is relative to
 * the rootfs, not to the host's `/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.ts';

/** The directories a container's PATH holds (docker's default), where its commands are looked up. */
export const CONTAINER_PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const MAX_LINKS = 40;

/**
 * The host path that `p` (a path inside the container) leads to, following every symlink inside `root`;
 * undefined when some part of it does not exist. `..` never climbs above the rootfs, as in the container.
 */
export function resolveInRoot(root: string, p: string): string | undefined {
  const parts = p.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift() ?? '';
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) return undefined;
    const target = fs.readlinkSync(host);
    if (target.startsWith('/')) done.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return path.join(root, ...done);
}

/** Where the container would find `command` (its path inside the rootfs), or undefined when it has none. */
export function findInRootfs(root: string, command: string): string | undefined {
  for (const dir of CONTAINER_PATH_DIRS) {
    const host = resolveInRoot(root, `${dir}/${command}`);
    if (!host) continue;
    try {
      const st = fs.statSync(host);
      if (st.isFile() && (st.mode & 0o111) !== 0) return `${dir}/${command}`;
    } catch {
      // a dangling link
    }
  }
  return undefined;
}

/** The commands of `needed` that the rootfs lacks, in the order given. */
export function missingCommands(root: string, needed: readonly string[]): string[] {
  return needed.filter((c) => findInRootfs(root, c) === undefined);
}

/** The Debian package that provides a command, for the fix line (coreutils unless known otherwise). */
const PACKAGE_OF: Record<string, string> = {
  sh: 'dash',
  mount: 'mount',
  umount: 'mount',
  ps: 'procps',
  ip: 'iproute2',
  hostname: 'hostname',
  ping: 'iputils-ping',
  nc: 'netcat-openbsd',
  busybox: 'busybox',
  insmod: 'kmod',
  wget: 'wget',
};

/**
 * Throws one line naming what the rootfs lacks and how to get it, when it lacks any of `needed`. Meant to be
 * called before a lesson creates anything.
 */
export function assertRootfsHas(root: string, needed: readonly string[], who: string): void {
  const missing = missingCommands(root, needed);
  const first = missing[0];
  if (first === undefined) return;
  const pkgs = [...new Set(missing.map((c) => PACKAGE_OF[c] ?? 'coreutils'))];
  const apt = findInRootfs(root, 'apt-get') !== undefined;
  const fix = apt
    ? `chroot ${root} apt-get install -y ${pkgs.join(' ')}   (or leave out --rootfs for the busybox one)`
    : `add ${missing.join(', ')} to ${root} (a static busybox provides them), or leave out --rootfs`;
  throw new UserError(`rootfs ${root} has no ${missing.join(', ')}, which ${who} runs inside the container`, fix);
}

/**
 * `ps` for a rootfs without one: only `sh` and /proc. ps itself does no more — it lists /proc's numbered
 * directories — so this is also what ps *is*. For each process: its PID, its parent's, its state letter, and
 * its command name (from /proc/<pid>/stat, whose name field is in parentheses and may hold spaces).
 */
export const PS_SCRIPT = [
  'echo "  PID  PPID STAT COMMAND"',
  'for p in /proc/[0-9]*; do',
  '  { read -r s < "$p/stat"; } 2>/dev/null || continue',
  '  c=${s#*\\(}; c=${c%\\)*}; set -- ${s##*\\) }',
  '  printf "%5s %5s %-4s %s\\n" "${p#/proc/}" "$2" "$1" "$c"',
  'done',
].join('\n');

/** One process as PS_SCRIPT lists it. */
export interface PsRow {
  pid: number;
  ppid: number;
  stat: string;
  command: string;
}

export function parsePsScript(text: string): PsRow[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => /^\d+$/.test(f[0] ?? ''))
    .map(([pid = '', ppid = '', stat = '', ...command]) => ({
      pid: Number(pid),
      ppid: Number(ppid),
      stat,
      command: command.join(' '),
    }));
}
