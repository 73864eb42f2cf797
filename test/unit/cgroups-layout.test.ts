import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  detectLayout,
  hostDirsOf,
  layoutVersion,
  parseCgroupMounts,
  WORKSHOP_VM_LAYOUT,
  type CgroupFs,
} from '../../lib/cgroups/index.ts';

// Lines as /proc/self/mountinfo shows them on the three kinds of host.
const V1_HOST = [
  '25 31 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '27 25 0:24 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '29 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '30 25 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '31 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const UBUNTU_V2 = [
  '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
  '36 24 0:31 / /proc rw - proc proc rw',
].join('\n');
const COMOUNTED = [
  '26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct',
  '27 25 0:23 / /sys/fs/cgroup/cpu,cpuacct/again rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
].join('\n');

/** Reads cgroup.controllers from a given map, nothing else. */
function controllersFs(files: Record<string, string>): CgroupFs {
  const read = (p: string) => {
    const v = files[p];
    if (v === undefined) throw Object.assign(new Error(p), { code: 'ENOENT' });
    return v;
  };
  return {
    read,
    exists: (p) => p in files,
    write: () => {},
    mkdir: () => {},
    rmdir: () => {},
    listDirs: () => [],
  };
}

describe('finding where the controllers are mounted', () => {
  it('reads v1 trees and their controllers from the super options, ignoring named trees', () => {
    expect(parseCgroupMounts(V1_HOST)).toEqual({
      v1: [
        { mountPoint: '/sys/fs/cgroup/cpu', controllers: ['cpu'] },
        { mountPoint: '/sys/fs/cgroup/cpuacct', controllers: ['cpuacct'] },
        { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
        { mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'] },
      ],
      v2MountPoints: ['/sys/fs/cgroup/unified'],
    });
  });

  it('counts a tree mounted twice once, and keeps co-mounted controllers together', () => {
    expect(parseCgroupMounts(COMOUNTED).v1).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
    ]);
  });

  it('calls this CI machine v1: its controllers are on v1, the v2 tree offers none of them', () => {
    const layout = detectLayout(controllersFs({ '/sys/fs/cgroup/unified/cgroup.controllers': 'hugetlb\n' }), V1_HOST);
    expect(layout.v2).toEqual({ mountPoint: '/sys/fs/cgroup/unified', available: ['hugetlb'] });
    expect(layoutVersion(layout)).toBe('v1');
  });

  it('calls Ubuntu 24.04 v2', () => {
    const layout = detectLayout(
      controllersFs({ '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n' }),
      UBUNTU_V2,
    );
    expect(layout.v1).toEqual([]);
    expect(layout.v2?.available).toContain('memory');
    expect(layoutVersion(layout)).toBe('v2');
  });

  it('calls a host with memory on v1 and pids on v2 hybrid', () => {
    const mountinfo = [
      '28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '31 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    const layout = detectLayout(controllersFs({ '/sys/fs/cgroup/unified/cgroup.controllers': 'pids cpu' }), mountinfo);
    expect(layoutVersion(layout)).toBe('hybrid');
  });

  it('finds nothing where nothing is mounted', () => {
    expect(detectLayout(controllersFs({}), '')).toEqual({ v1: [] });
  });

  it.skipIf(!fs.existsSync('/proc/self/mountinfo'))('finds every cgroup mount of this machine', () => {
    const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    const layout = detectLayout();
    const trees = layout.v1.map((m) => m.mountPoint).concat(layout.v2 ? [layout.v2.mountPoint] : []);
    for (const t of trees) expect(text).toContain(` ${t} `);
    expect(trees.length > 0).toBe(/ - cgroup2? /.test(text));
  });
});

describe('mapping /proc/<pid>/cgroup to host directories', () => {
  it('joins a v2 line to the v2 tree', () => {
    expect(hostDirsOf('0::/scratch/05ab12\n', WORKSHOP_VM_LAYOUT)).toEqual([
      { line: '0::/scratch/05ab12', dir: '/sys/fs/cgroup/scratch/05ab12' },
    ]);
  });

  it('joins each v1 line to the tree with the same controllers, leaving out unmounted ones', () => {
    const layout = detectLayout(controllersFs({}), V1_HOST);
    const text = '9:name=systemd:/\n8:pids:/scratch/05ab12\n4:memory:/scratch/05ab12\n0::/\n';
    expect(hostDirsOf(text, layout)).toEqual([
      { line: '8:pids:/scratch/05ab12', dir: '/sys/fs/cgroup/pids/scratch/05ab12' },
      { line: '4:memory:/scratch/05ab12', dir: '/sys/fs/cgroup/memory/scratch/05ab12' },
      { line: '0::/', dir: '/sys/fs/cgroup/unified' },
    ]);
  });

  it.skipIf(!fs.existsSync('/proc/self/cgroup'))('maps this test’s own cgroups to directories that exist', () => {
    const dirs = hostDirsOf(fs.readFileSync('/proc/self/cgroup', 'utf8'), detectLayout());
    expect(dirs.length).toBeGreaterThan(0);
    for (const { dir } of dirs) expect(fs.statSync(dir).isDirectory()).toBe(true);
  });
});
