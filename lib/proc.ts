/**
 * Reading a process from the host through /proc.
 *
 * /proc/<pid>/ns/* are the process's namespaces: each is a link whose target, like `pid:[4026531836]`, names
 * the namespace by inode number. Two processes are in the same namespace exactly when the numbers match. That
 * is the whole trick behind "a container is a process": the kernel has no container object, only processes
 * whose namespace links (and cgroup, and root) differ from the host's.
 */
import fs from 'node:fs';

/** The namespace kinds a process has links for, in the order `ls /proc/self/ns` shows them. */
export const NAMESPACE_KINDS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

/** Parse a namespace link target (`pid:[4026531836]`) into its inode number. */
export function parseNamespaceLink(target: string): number | undefined {
  const m = /^[a-z_]+:\[(\d+)\]$/.exec(target.trim());
  return m?.[1] ? Number(m[1]) : undefined;
}

/** The namespace inode of each kind for a process (kinds the kernel lacks are left out). */
export function readNamespaces(pid: number | 'self'): Partial<Record<NamespaceKind, number>> {
  const out: Partial<Record<NamespaceKind, number>> = {};
  for (const kind of NAMESPACE_KINDS) {
    try {
      const inode = parseNamespaceLink(fs.readlinkSync(`/proc/${pid}/ns/${kind}`));
      if (inode !== undefined) out[kind] = inode;
    } catch {
      // Older kernels have no time namespace; a process that just exited has none at all.
    }
  }
  return out;
}

export interface CgroupLine {
  /** Hierarchy id: 0 for the cgroup v2 hierarchy. */
  hierarchy: number;
  /** Controllers on that hierarchy (`memory`, `cpu,cpuacct`); empty for v2. */
  controllers: string[];
  path: string;
}

/** Parse /proc/<pid>/cgroup (`4:memory:/scratch/05ab12`, or `0::/scratch/05ab12` on v2). */
export function parseProcCgroup(text: string): CgroupLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [h = '', ctl = '', ...rest] = l.split(':');
      return { hierarchy: Number(h), controllers: ctl ? ctl.split(',') : [], path: rest.join(':') };
    });
}

export function readCgroups(pid: number | 'self'): CgroupLine[] {
  return parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
}

/** One field of /proc/<pid>/status, e.g. `NSpid` (`4711\t1`: the PID in each nested PID namespace). */
export function readStatusField(pid: number, field: string): string | undefined {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(`${field}:`));
  return line?.slice(field.length + 1).trim();
}

/** Whether a process with this PID exists (from the host's point of view). */
export function processExists(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}
