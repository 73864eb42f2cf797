/**
 * The v1 and v2 drivers against a temporary directory that behaves like the kernel's cgroup filesystem in the
 * ways that matter here: mkdir makes a cgroup's interface files (on v2 only for controllers the parent enabled
 * in its subtree_control), a controller can only be enabled if the parent offers it, a cgroup with processes
 * cannot hand controllers down (the no-internal-process rule), and rmdir fails while children or processes are
 * inside.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import {
  Cgroup,
  createCgroup,
  parseLimits,
  planCgroup,
  showOp,
  type CgroupFs,
  type CgroupLayout,
} from '../../lib/cgroups/index.ts';
import { UserError } from '../../lib/errors.ts';

const LIMITS = parseLimits({ memory: '32m', pids: '20', cpus: '0.2' });
const MIB32 = String(32 * 1024 ** 2);

function errno(code: string, what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

/** Interface files per controller, with the values a fresh kernel cgroup shows. */
const V2_FILES: Record<string, Record<string, string>> = {
  memory: {
    'memory.max': 'max\n',
    'memory.swap.max': 'max\n',
    'memory.current': '0\n',
    'memory.peak': '0\n',
    'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
  },
  pids: { 'pids.max': 'max\n', 'pids.current': '0\n', 'pids.peak': '0\n', 'pids.events': 'max 0\n' },
  cpu: {
    'cpu.max': 'max 100000\n',
    'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n',
  },
};
const V1_FILES: Record<string, Record<string, string>> = {
  memory: {
    'memory.limit_in_bytes': '9223372036854771712\n',
    'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory.usage_in_bytes': '0\n',
    'memory.max_usage_in_bytes': '0\n',
    'memory.failcnt': '0\n',
    'memory.memsw.failcnt': '0\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
  },
  pids: { 'pids.max': 'max\n', 'pids.current': '0\n', 'pids.events': 'max 0\n' },
  cpu: {
    'cpu.cfs_quota_us': '-1\n',
    'cpu.cfs_period_us': '100000\n',
    'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n',
  },
  cpuacct: { 'cpuacct.usage': '0\n' },
};

/** A cgroup filesystem imitation on a temp directory, recording every change in order. */
class FakeCgroupFs implements CgroupFs {
  readonly log: string[] = [];

  constructor(
    readonly root: string,
    private readonly trees: { mountPoint: string; version: 'v1' | 'v2'; controllers: string[] }[],
  ) {
    for (const t of trees) {
      fs.mkdirSync(t.mountPoint, { recursive: true });
      this.populate(t.mountPoint, t.version === 'v2' ? [] : t.controllers, t.version);
      if (t.version === 'v2') fs.writeFileSync(path.join(t.mountPoint, 'cgroup.controllers'), t.controllers.join(' '));
    }
  }

  private treeOf(p: string) {
    const t = this.trees.find((x) => p === x.mountPoint || p.startsWith(`${x.mountPoint}/`));
    if (!t) throw new Error(`${p} is in no cgroup tree`);
    return t;
  }

  private populate(dir: string, controllers: string[], version: 'v1' | 'v2') {
    const files: Record<string, string> = { 'cgroup.procs': '' };
    if (version === 'v2') Object.assign(files, { 'cgroup.subtree_control': '', 'cgroup.kill': '' });
    for (const c of controllers) Object.assign(files, (version === 'v2' ? V2_FILES : V1_FILES)[c]);
    for (const [name, value] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), value);
  }

  exists = (p: string) => fs.existsSync(p);
  read = (p: string) => fs.readFileSync(p, 'utf8');
  listDirs = (p: string) =>
    fs
      .readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);

  mkdir = (p: string) => {
    fs.mkdirSync(p); // EEXIST and ENOENT as the kernel gives them
    const t = this.treeOf(p);
    if (t.version === 'v2') {
      const enabled = this.read(path.join(path.dirname(p), 'cgroup.subtree_control'))
        .split(/\s+/)
        .filter(Boolean);
      this.populate(p, enabled, 'v2');
      fs.writeFileSync(path.join(p, 'cgroup.controllers'), enabled.join(' '));
    } else {
      this.populate(p, t.controllers, 'v1');
    }
    this.log.push(`mkdir ${this.rel(p)}`);
  };

  write = (p: string, value: string) => {
    if (!fs.existsSync(p)) throw errno('ENOENT', p);
    const name = path.basename(p);
    const dir = path.dirname(p);
    if (name === 'cgroup.subtree_control') {
      const offered = this.read(path.join(dir, 'cgroup.controllers')).split(/\s+/);
      const enabled = new Set(this.read(p).split(/\s+/).filter(Boolean));
      const isRoot = this.trees.some((t) => t.mountPoint === dir);
      if (!isRoot && this.read(path.join(dir, 'cgroup.procs')).trim()) throw errno('EBUSY', p);
      for (const w of value.split(/\s+/)) {
        if (!offered.includes(w.slice(1))) throw errno('ENOENT', `${w} not offered in ${dir}`);
        if (w.startsWith('+')) enabled.add(w.slice(1));
        else enabled.delete(w.slice(1));
      }
      fs.writeFileSync(p, [...enabled].join(' '));
    } else if (name === 'cgroup.procs') {
      fs.appendFileSync(p, `${value}\n`);
    } else if (name === 'cgroup.kill') {
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), '');
    } else {
      fs.writeFileSync(p, `${value}\n`);
    }
    this.log.push(`write ${this.rel(p)} ${value}`);
  };

  rmdir = (p: string) => {
    if (this.listDirs(p).length > 0) throw errno('ENOTEMPTY', p);
    if (this.read(path.join(p, 'cgroup.procs')).trim()) throw errno('EBUSY', p);
    fs.rmSync(p, { recursive: true }); // the kernel removes the interface files with the directory
    this.log.push(`rmdir ${this.rel(p)}`);
  };

  rel(p: string) {
    return path.relative(this.root, p);
  }
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-cgroupfs-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function v2Host(rootEnabled = '', offered = ['cpuset', 'cpu', 'io', 'memory', 'pids']) {
  const mountPoint = path.join(tmp, 'cgroup');
  const cgfs = new FakeCgroupFs(tmp, [{ mountPoint, version: 'v2', controllers: offered }]);
  fs.writeFileSync(path.join(mountPoint, 'cgroup.subtree_control'), rootEnabled);
  const layout: CgroupLayout = { v1: [], v2: { mountPoint, available: offered } };
  return { cgfs, layout, mountPoint };
}

describe('the v2 driver', () => {
  it('enables the controllers up the path, then makes the leaf, then writes the limits', () => {
    const { cgfs, layout } = v2Host();
    const cg = new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs);
    cg.create();
    expect(cgfs.log).toEqual([
      'write cgroup/cgroup.subtree_control +memory +pids +cpu',
      'mkdir cgroup/scratch',
      'write cgroup/scratch/cgroup.subtree_control +memory +pids +cpu',
      'mkdir cgroup/scratch/05ab12',
      `write cgroup/scratch/05ab12/memory.max ${MIB32}`,
      'write cgroup/scratch/05ab12/memory.swap.max 0',
      'write cgroup/scratch/05ab12/pids.max 20',
      'write cgroup/scratch/05ab12/cpu.max 20000 100000',
    ]);
    expect(cg.version).toBe('v2');
    expect(cg.procsFiles).toEqual([path.join(tmp, 'cgroup/scratch/05ab12/cgroup.procs')]);
    expect(cg.notes).toEqual([]);
  });

  it('shows each step as the shell line a learner could type', () => {
    const { cgfs, layout, mountPoint } = v2Host();
    const plan = planCgroup('05ab12', LIMITS, { layout, fs: cgfs });
    expect(plan.ops.map(showOp)).toContain(`echo '+memory +pids +cpu' > ${mountPoint}/scratch/cgroup.subtree_control`);
    expect(plan.ops.map(showOp)).toContain(`echo '20000 100000' > ${mountPoint}/scratch/05ab12/cpu.max`);
    expect(cgfs.log).toEqual([]); // planning writes nothing
  });

  it('leaves the root alone when its subtree_control already hands the controllers down', () => {
    const { cgfs, layout } = v2Host('cpu memory pids io');
    new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs).create();
    expect(cgfs.log[0]).toBe('mkdir cgroup/scratch');
  });

  it('enables only what the root is missing', () => {
    const { cgfs, layout } = v2Host('memory');
    const plan = planCgroup('05ab12', LIMITS, { layout, fs: cgfs });
    expect(plan.ops[0]).toMatchObject({ kind: 'write', value: '+pids +cpu' });
  });

  it('skips the swap limit and says so where the kernel has no memory.swap.max', () => {
    const { cgfs, layout } = v2Host();
    delete V2_FILES.memory!['memory.swap.max'];
    try {
      const cg = new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs);
      cg.create();
      expect(cgfs.log.some((l) => l.includes('memory.swap.max'))).toBe(false);
      expect(cg.notes.join()).toContain('swap is not limited');
    } finally {
      V2_FILES.memory!['memory.swap.max'] = 'max\n';
    }
  });

  it('refuses a limit whose controller the tree does not offer, before creating anything', () => {
    const { cgfs, layout, mountPoint } = v2Host('', ['memory', 'pids']);
    const cleanup = new CleanupStack();
    let err: unknown;
    try {
      createCgroup(cleanup, '05ab12', LIMITS, { layout, fs: cgfs });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/CPU limit cannot be enforced: the cpu controller .*cgroup.controllers/);
    expect(cgfs.log).toEqual([]);
    expect(fs.existsSync(path.join(mountPoint, 'scratch'))).toBe(false);
    expect(cleanup.size).toBe(0);
  });

  it('uses no controller it was not asked for when it is missing, and limits only what it has', () => {
    const { cgfs, layout } = v2Host('', ['memory', 'pids']);
    const plan = planCgroup('05ab12', parseLimits({ memory: '32m' }), { layout, fs: cgfs });
    expect(plan.skipped).toEqual(['cpu']);
    expect(plan.drivers[0]?.controllers).toEqual(['memory', 'pids']);
  });

  it('explains the no-internal-process rule when a parent with processes cannot hand controllers down', () => {
    const { cgfs, layout, mountPoint } = v2Host('cpu memory pids');
    fs.mkdirSync(path.join(mountPoint, 'scratch'));
    fs.writeFileSync(path.join(mountPoint, 'scratch', 'cgroup.controllers'), 'cpu memory pids');
    fs.writeFileSync(path.join(mountPoint, 'scratch', 'cgroup.subtree_control'), '');
    fs.writeFileSync(path.join(mountPoint, 'scratch', 'cgroup.procs'), '4242\n');
    const cleanup = new CleanupStack();
    expect(() => createCgroup(cleanup, '05ab12', LIMITS, { layout, fs: cgfs })).toThrow(/no-internal-process rule/);
    // Nothing of ours was made, so the unwind must not touch the existing parent.
    return cleanup.unwind().then(() => expect(fs.existsSync(path.join(mountPoint, 'scratch'))).toBe(true));
  });

  it('refuses to reuse a leftover cgroup of the same name, and does not remove it', async () => {
    const { cgfs, layout, mountPoint } = v2Host('cpu memory pids');
    const other = new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs);
    other.create();
    const cleanup = new CleanupStack();
    expect(() => createCgroup(cleanup, '05ab12', LIMITS, { layout, fs: cgfs })).toThrow(/already exists/);
    await cleanup.unwind();
    expect(fs.existsSync(path.join(mountPoint, 'scratch', '05ab12'))).toBe(true);
  });

  it('removes by killing what is inside first, then the leaf, then the empty parent', async () => {
    const { cgfs, layout, mountPoint } = v2Host('cpu memory pids');
    const cleanup = new CleanupStack();
    const cg = createCgroup(cleanup, '05ab12', LIMITS, { layout, fs: cgfs });
    cg.addProcess(4242);
    expect(cg.processes()).toEqual([4242]);
    cgfs.log.length = 0;
    const reports = await cleanup.unwind();
    expect(reports).toEqual([{ description: 'remove cgroup /scratch/05ab12' }]);
    expect(cgfs.log).toEqual([
      'write cgroup/scratch/05ab12/cgroup.kill 1',
      'rmdir cgroup/scratch/05ab12',
      'rmdir cgroup/scratch',
    ]);
    expect(fs.existsSync(path.join(mountPoint, 'scratch'))).toBe(false);
  });

  it('keeps the scratch parent while another run has a cgroup in it', async () => {
    const { cgfs, layout, mountPoint } = v2Host('cpu memory pids');
    const cleanup = new CleanupStack();
    createCgroup(cleanup, '05aaaa', LIMITS, { layout, fs: cgfs });
    createCgroup(new CleanupStack(), '05bbbb', LIMITS, { layout, fs: cgfs });
    await cleanup.unwind();
    expect(fs.readdirSync(path.join(mountPoint, 'scratch')).filter((n) => !n.includes('.'))).toEqual(['05bbbb']);
  });

  it('changes a limit on the existing group, writing only that limit (docker update)', () => {
    const { cgfs, layout, mountPoint } = v2Host('cpu memory pids');
    const cg = new Cgroup(planCgroup('05ab12', parseLimits({ memory: '32m' }), { layout, fs: cgfs }), cgfs);
    cg.create();
    cgfs.log.length = 0;
    cg.update(parseLimits({ cpus: '0.2' }));
    expect(cgfs.log).toEqual(['write cgroup/scratch/05ab12/cpu.max 20000 100000']);
    expect(fs.readFileSync(path.join(mountPoint, 'scratch/05ab12/cpu.max'), 'utf8')).toBe('20000 100000\n');
  });

  it('refuses to update a limit whose controller the group was made without', () => {
    const { cgfs, layout } = v2Host('', ['memory', 'pids']);
    const cg = new Cgroup(planCgroup('05ab12', parseLimits({ memory: '32m' }), { layout, fs: cgfs }), cgfs);
    cg.create();
    cgfs.log.length = 0;
    expect(() => cg.update(parseLimits({ cpus: '0.2', pids: '5' }))).toThrow(UserError);
    expect(cgfs.log).toEqual([]);
  });

  it('reads memory, pids and cpu stats from the leaf', () => {
    const { cgfs, layout, mountPoint } = v2Host('cpu memory pids');
    const cg = new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs);
    cg.create();
    const leaf = path.join(mountPoint, 'scratch', '05ab12');
    fs.writeFileSync(path.join(leaf, 'memory.current'), '1236992\n');
    fs.writeFileSync(path.join(leaf, 'memory.events'), 'low 0\nhigh 0\nmax 57\noom 1\noom_kill 1\n');
    fs.writeFileSync(path.join(leaf, 'pids.current'), '20\n');
    fs.writeFileSync(path.join(leaf, 'pids.events'), 'max 31\n');
    fs.writeFileSync(
      path.join(leaf, 'cpu.stat'),
      'usage_usec 400000\nuser_usec 390000\nsystem_usec 10000\nnr_periods 20\nnr_throttled 19\nthrottled_usec 1500000\n',
    );
    expect(cg.stats()).toEqual({
      memory: {
        currentBytes: 1236992,
        maxBytes: 32 * 1024 ** 2,
        peakBytes: 0,
        swapMaxBytes: 0,
        oomKills: 1,
        limitHits: 57,
      },
      pids: { current: 20, max: 20, peak: 0, forkFailures: 31 },
      cpu: {
        usageUsec: 400000,
        periods: 20,
        throttledPeriods: 19,
        throttledUsec: 1500000,
        quotaUs: 20000,
        periodUs: 100000,
      },
    });
    expect(cg.evidenceFiles('cpu').map((f) => path.basename(f))).toEqual(['cpu.max', 'cpu.stat']);
  });
});

describe('the v1 driver', () => {
  function v1Host(cpuWithCpuacct: boolean, memsw = true) {
    const base = path.join(tmp, 'cgroup');
    const trees = [
      { mountPoint: path.join(base, 'memory'), version: 'v1' as const, controllers: ['memory'] },
      { mountPoint: path.join(base, 'pids'), version: 'v1' as const, controllers: ['pids'] },
      ...(cpuWithCpuacct
        ? [{ mountPoint: path.join(base, 'cpu,cpuacct'), version: 'v1' as const, controllers: ['cpu', 'cpuacct'] }]
        : [
            { mountPoint: path.join(base, 'cpu'), version: 'v1' as const, controllers: ['cpu'] },
            { mountPoint: path.join(base, 'cpuacct'), version: 'v1' as const, controllers: ['cpuacct'] },
          ]),
    ];
    if (!memsw) {
      delete V1_FILES.memory!['memory.memsw.limit_in_bytes'];
      delete V1_FILES.memory!['memory.memsw.failcnt'];
    }
    const cgfs = new FakeCgroupFs(tmp, trees);
    const layout: CgroupLayout = { v1: trees.map(({ mountPoint, controllers }) => ({ mountPoint, controllers })) };
    return { cgfs, layout, base };
  }
  afterEach(() => {
    V1_FILES.memory!['memory.memsw.limit_in_bytes'] = '9223372036854771712\n';
    V1_FILES.memory!['memory.memsw.failcnt'] = '0\n';
  });

  it('makes one directory per tree and writes memory before memory+swap, period before quota', () => {
    const { cgfs, layout } = v1Host(false);
    const cg = new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs);
    cg.create();
    expect(cgfs.log).toEqual([
      'mkdir cgroup/memory/scratch',
      'mkdir cgroup/memory/scratch/05ab12',
      'mkdir cgroup/pids/scratch',
      'mkdir cgroup/pids/scratch/05ab12',
      'mkdir cgroup/cpu/scratch',
      'mkdir cgroup/cpu/scratch/05ab12',
      'mkdir cgroup/cpuacct/scratch',
      'mkdir cgroup/cpuacct/scratch/05ab12',
      `write cgroup/memory/scratch/05ab12/memory.limit_in_bytes ${MIB32}`,
      `write cgroup/memory/scratch/05ab12/memory.memsw.limit_in_bytes ${MIB32}`,
      'write cgroup/pids/scratch/05ab12/pids.max 20',
      'write cgroup/cpu/scratch/05ab12/cpu.cfs_period_us 100000',
      'write cgroup/cpu/scratch/05ab12/cpu.cfs_quota_us 20000',
    ]);
    expect(cg.version).toBe('v1');
    expect(cg.procsFiles.map((f) => cgfs.rel(f))).toEqual([
      'cgroup/memory/scratch/05ab12/cgroup.procs',
      'cgroup/pids/scratch/05ab12/cgroup.procs',
      'cgroup/cpu/scratch/05ab12/cgroup.procs',
      'cgroup/cpuacct/scratch/05ab12/cgroup.procs',
    ]);
  });

  it('uses one directory for cpu and cpuacct when they share a tree', () => {
    const { cgfs, layout } = v1Host(true);
    const plan = planCgroup('05ab12', LIMITS, { layout, fs: cgfs });
    expect(plan.drivers[0]?.dirs.map((d) => cgfs.rel(d))).toEqual([
      'cgroup/memory/scratch/05ab12',
      'cgroup/pids/scratch/05ab12',
      'cgroup/cpu,cpuacct/scratch/05ab12',
    ]);
  });

  it('skips memory+swap and says so where swap accounting is off', () => {
    const { cgfs, layout } = v1Host(true, false);
    const cg = new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs);
    cg.create();
    expect(cgfs.log.some((l) => l.includes('memsw'))).toBe(false);
    expect(cg.notes.join()).toContain('swapaccount=1');
  });

  it('reads v1 counters into the same stats as v2 (ns to µs, huge numbers and -1 to max)', () => {
    const { cgfs, layout } = v1Host(false);
    const cg = new Cgroup(planCgroup('05ab12', parseLimits({ pids: '20' }), { layout, fs: cgfs }), cgfs);
    cg.create();
    const dir = (tree: string) => path.join(tmp, 'cgroup', tree, 'scratch', '05ab12');
    fs.writeFileSync(path.join(dir('memory'), 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    fs.writeFileSync(path.join(dir('memory'), 'memory.memsw.failcnt'), '9\n');
    fs.writeFileSync(path.join(dir('memory'), 'memory.usage_in_bytes'), '4096\n');
    fs.writeFileSync(path.join(dir('cpu'), 'cpu.stat'), 'nr_periods 30\nnr_throttled 25\nthrottled_time 2500000000\n');
    fs.writeFileSync(path.join(dir('cpuacct'), 'cpuacct.usage'), '600000000\n');
    expect(cg.stats()).toEqual({
      memory: {
        currentBytes: 4096,
        maxBytes: 'max',
        peakBytes: 0,
        swapMaxBytes: 'max',
        oomKills: 2,
        limitHits: 9,
      },
      pids: { current: 0, max: 20, forkFailures: 0 },
      cpu: {
        usageUsec: 600000,
        periods: 30,
        throttledPeriods: 25,
        throttledUsec: 2500000,
        quotaUs: 'max',
        periodUs: 100000,
      },
    });
  });

  it('removes every tree’s directory and the empty parents', async () => {
    const { cgfs, layout, base } = v1Host(true);
    const cleanup = new CleanupStack();
    createCgroup(cleanup, '05ab12', LIMITS, { layout, fs: cgfs });
    cgfs.log.length = 0;
    await cleanup.unwind();
    expect(cgfs.log).toEqual([
      'rmdir cgroup/memory/scratch/05ab12',
      'rmdir cgroup/pids/scratch/05ab12',
      'rmdir cgroup/cpu,cpuacct/scratch/05ab12',
      'rmdir cgroup/memory/scratch',
      'rmdir cgroup/pids/scratch',
      'rmdir cgroup/cpu,cpuacct/scratch',
    ]);
    for (const t of ['memory', 'pids', 'cpu,cpuacct']) expect(fs.existsSync(path.join(base, t, 'scratch'))).toBe(false);
  });
});

describe('a hybrid host', () => {
  it('uses each controller in the tree where it is mounted', () => {
    const base = path.join(tmp, 'cgroup');
    const cgfs = new FakeCgroupFs(tmp, [
      { mountPoint: path.join(base, 'memory'), version: 'v1', controllers: ['memory'] },
      { mountPoint: path.join(base, 'unified'), version: 'v2', controllers: ['pids', 'cpu'] },
    ]);
    const layout: CgroupLayout = {
      v1: [{ mountPoint: path.join(base, 'memory'), controllers: ['memory'] }],
      v2: { mountPoint: path.join(base, 'unified'), available: ['pids', 'cpu'] },
    };
    const cg = new Cgroup(planCgroup('05ab12', LIMITS, { layout, fs: cgfs }), cgfs);
    cg.create();
    expect(cg.version).toBe('hybrid');
    expect(cg.procsFiles.map((f) => cgfs.rel(f))).toEqual([
      'cgroup/memory/scratch/05ab12/cgroup.procs',
      'cgroup/unified/scratch/05ab12/cgroup.procs',
    ]);
    expect(cgfs.log).toContain('write cgroup/unified/scratch/05ab12/cpu.max 20000 100000');
    expect(cgfs.log).toContain(`write cgroup/memory/scratch/05ab12/memory.limit_in_bytes ${MIB32}`);
  });
});
