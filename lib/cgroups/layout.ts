/**
 * Where this host mounts its cgroup controllers: v1 trees (one per controller), the v2 tree, or both (hybrid),
 * read from /proc/self/mountinfo; and, from a process's /proc/<pid>/cgroup, which directories it sits in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseProcCgroup } from '../proc.ts';
import {
  CGROUP_ROOT,
  CONTROLLERS,
  type CgroupFs,
  type CgroupLayout,
  type CgroupVersion,
  type V1Mount,
} from './contract.ts';
import { hostFs } from './files.ts';

const KNOWN_V1_CONTROLLERS = new Set([
  'blkio',
  'cpu',
  'cpuacct',
  'cpuset',
  'devices',
  'freezer',
  'hugetlb',
  'memory',
  'misc',
  'net_cls',
  'net_prio',
  'perf_event',
  'pids',
  'rdma',
]);

/** Mounts of type cgroup/cgroup2 from /proc/self/mountinfo text, with v1 controllers from the super options. */
export function parseCgroupMounts(mountinfo: string): { v1: V1Mount[]; v2MountPoints: string[] } {
  const v1: V1Mount[] = [];
  const v2MountPoints: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = (left.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(parseInt(o, 8)),
    );
    const [fsType, , superOptions = ''] = right.split(' ');
    if (fsType === 'cgroup2') v2MountPoints.push(mountPoint);
    if (fsType !== 'cgroup') continue;
    const controllers = superOptions.split(',').filter((o) => KNOWN_V1_CONTROLLERS.has(o));
    // The same tree can be mounted twice (a bind mount); the first mount point is enough.
    const key = controllers.join(',');
    if (controllers.length > 0 && !v1.some((m) => m.controllers.join(',') === key)) {
      v1.push({ mountPoint, controllers });
    }
  }
  return { v1, v2MountPoints };
}

/** What this host has: which v1 trees, and which controllers its v2 tree offers. */
export function detectLayout(cgfs: CgroupFs = hostFs, mountinfo?: string): CgroupLayout {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      text = ''; // not Linux: no cgroups at all
    }
  }
  const { v1, v2MountPoints } = parseCgroupMounts(text);
  const layout: CgroupLayout = { v1 };
  // Prefer the v2 tree at /sys/fs/cgroup itself (pure v2), else e.g. systemd's /sys/fs/cgroup/unified.
  const v2 = v2MountPoints.find((m) => m === CGROUP_ROOT) ?? v2MountPoints[0];
  if (v2 !== undefined) {
    let available: string[] = [];
    try {
      available = cgfs.read(path.join(v2, 'cgroup.controllers')).trim().split(/\s+/).filter(Boolean);
    } catch {
      available = [];
    }
    layout.v2 = { mountPoint: v2, available };
  }
  return layout;
}

/** A pure cgroup v2 host (the workshop VM, Ubuntu 24.04): one tree at /sys/fs/cgroup and no v1 hierarchy. */
export function isPureV2(layout: CgroupLayout): boolean {
  return layout.v1.length === 0 && layout.v2?.mountPoint === CGROUP_ROOT;
}

/**
 * The layout of the workshop VM (Ubuntu 24.04, pure v2), used to *show* a lesson's commands where no
 * cgroups are mounted at all (`--explain` on macOS).
 */
export const WORKSHOP_VM_LAYOUT: CgroupLayout = {
  v1: [],
  v2: { mountPoint: CGROUP_ROOT, available: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'] },
};

export function hasAnyCgroups(layout: CgroupLayout): boolean {
  return layout.v1.length > 0 || (layout.v2?.available.length ?? 0) > 0;
}

/** This host's layout, or the workshop VM's where there are no cgroups to show (explain mode off Linux). */
export function layoutToShow(): CgroupLayout {
  const layout = detectLayout();
  return hasAnyCgroups(layout) ? layout : WORKSHOP_VM_LAYOUT;
}

/** v1, v2 or hybrid, as far as the workshop's controllers are concerned. */
export function layoutVersion(layout: CgroupLayout): CgroupVersion {
  const onV1 = CONTROLLERS.some((c) => layout.v1.some((m) => m.controllers.includes(c)));
  const onV2 = CONTROLLERS.some((c) => layout.v2?.available.includes(c));
  if (onV1 && onV2) return 'hybrid';
  return onV1 ? 'v1' : 'v2';
}

/**
 * Where a process's cgroups are on the host: each line of /proc/<pid>/cgroup joined to the tree it names.
 * Lines for trees not mounted here (a named v1 tree nobody mounted) are left out.
 */
export function hostDirsOf(procCgroupText: string, layout: CgroupLayout): { line: string; dir: string }[] {
  const out: { line: string; dir: string }[] = [];
  const join = (mountPoint: string, p: string) => path.join(mountPoint, p).replace(/(.)\/$/, '$1');
  for (const l of parseProcCgroup(procCgroupText)) {
    const line = `${l.hierarchy}:${l.controllers.join(',')}:${l.path}`;
    if (l.hierarchy === 0 && l.controllers.length === 0) {
      if (layout.v2) out.push({ line, dir: join(layout.v2.mountPoint, l.path) });
      continue;
    }
    const tree = layout.v1.find((m) => m.controllers.join(',') === l.controllers.join(','));
    if (tree) out.push({ line, dir: join(tree.mountPoint, l.path) });
  }
  return out;
}
