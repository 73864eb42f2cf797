/**
 * The init plan: one pure function of the spec, rendered as a syscall listing and as an sh script, and executed
 * by the TypeScript init — all checked here without root, through a recording Syscalls.
 */
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { executePlan, InitError, resolveCommand, type ExecuteDeps } from '../../lib/init/execute.ts';
import { planOps, type InitOp } from '../../lib/init/ops.ts';
import { initPlan } from '../../lib/init/plan.ts';
import { renderSh, scriptArgs, ShUnsupported, splitOverlayOptions } from '../../lib/init/render-sh.ts';
import { renderSyscalls } from '../../lib/init/render-syscalls.ts';
import { ExecvedForTest, RecordingSyscalls } from '../../lib/init/syscalls.ts';
import { build, chrootSpec, isolatedSpec, withCgroup, withOverlay, withUtsIpc } from '../../lib/kit.ts';
import { parseMountOptions } from '../../lib/mount-options.ts';
import type { ContainerSpec } from '../../lib/spec.ts';
import { fdMessage, receivedFd } from '../../lib/scm-rights.ts';

const ROOTFS = '/var/lib/scratch/rootfs/busybox';
const lesson02 = build(chrootSpec({ id: '02ab12', rootfs: ROOTFS, args: ['sleep', '300'] }), withUtsIpc('box'));
const lesson04 = isolatedSpec({ id: '04ab12', rootfs: ROOTFS, args: ['sh', '-c', 'exit 7'], hostname: 'box' });
const names = (ops: InitOp[]) => ops.map((o) => o.op);

const hardened: ContainerSpec = {
  ...lesson04,
  process: {
    ...lesson04.process,
    user: { uid: 1000, gid: 1000, additionalGids: [10] },
    capabilities: {
      bounding: ['CAP_CHOWN', 'CAP_KILL'],
      effective: ['CAP_CHOWN'],
      permitted: ['CAP_CHOWN'],
      inheritable: [],
      ambient: [],
    },
    noNewPrivileges: true,
  },
  linux: { ...lesson04.linux, seccomp: { profile: 'docker-default' } },
};

describe('parseMountOptions', () => {
  it('sorts mount -o words into flags, data for the filesystem, and a propagation change', () => {
    expect(parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=64k'])).toEqual({
      flags: ['MS_NOSUID', 'MS_STRICTATIME'],
      data: 'mode=755,size=64k',
      propagation: [],
      recursiveReadonly: false,
    });
    expect(parseMountOptions(['rbind', 'ro', 'rprivate'])).toEqual({
      flags: ['MS_BIND', 'MS_REC', 'MS_RDONLY'],
      data: '',
      propagation: ['MS_PRIVATE', 'MS_REC'],
      recursiveReadonly: false,
    });
    expect(parseMountOptions(['rbind', 'rro']).recursiveReadonly).toBe(true);
    expect(parseMountOptions(['rw', 'suid', 'dev', 'exec']).flags).toEqual([]);
  });
});

describe('initPlan', () => {
  it('lesson 02: sync, hostname, chroot, then the hand-over — no mounts without a mount namespace', () => {
    expect(names(planOps(initPlan(lesson02, { mode: 'run', executor: 'sh' })))).toEqual([
      'sync',
      'sethostname',
      'chroot',
      'chdir',
      'resetSignals',
      'closeFds',
      'exec',
    ]);
  });

  it('lesson 04: private first, then the root mount, mounts, devices, and pivot_root(".", ".") with no directory', () => {
    const ops = planOps(initPlan(lesson04, { mode: 'run', executor: 'ts' }));
    const order = names(ops);
    expect(order.indexOf('makePrivate')).toBeLessThan(order.indexOf('mount'));
    expect(order.slice(order.indexOf('pivotRoot') - 1, order.indexOf('pivotRoot') + 3)).toEqual([
      'chdir',
      'pivotRoot',
      'detachOldRoot',
      'chdir',
    ]);
    expect(ops[0]).toEqual({ op: 'sync' });
    expect(ops.find((o) => o.op === 'mount')).toEqual({
      op: 'mount',
      source: ROOTFS,
      target: ROOTFS,
      fstype: null,
      flags: ['MS_BIND', 'MS_REC'],
      data: '',
    });
    expect(JSON.stringify(ops)).not.toContain('oldroot');
    expect(ops.at(-1)).toEqual({ op: 'exec', args: ['sh', '-c', 'exit 7'], env: lesson04.process.env });
  });

  it('the cgroup namespace is made by the TypeScript init after the sync point, never before', () => {
    const spec = build(lesson04, withCgroup({ pids: { limit: 20 } }));
    const ts = names(planOps(initPlan(spec, { mode: 'run', executor: 'ts' })));
    expect(ts.slice(0, 2)).toEqual(['sync', 'unshareCgroupns']);
    // The sh init gets its cgroup namespace from `unshare --cgroup`, after its launcher joined the cgroup.
    expect(names(planOps(initPlan(spec, { mode: 'run', executor: 'sh' })))).not.toContain('unshareCgroupns');
  });

  it('privileges in runc’s order: bounding set before setuid (kept caps around it), capset, no_new_privs, seccomp last', () => {
    const order = names(planOps(initPlan(hardened, { mode: 'run', executor: 'ts' })));
    const at = (n: (typeof order)[number]) => order.indexOf(n);
    expect(at('dropBounding')).toBeLessThan(at('keepCaps'));
    expect(order.slice(at('keepCaps'), at('keepCaps') + 3)).toEqual(['keepCaps', 'setUser', 'keepCaps']);
    expect(at('capset')).toBeGreaterThan(at('setUser'));
    expect(at('noNewPrivs')).toBeGreaterThan(at('ambient'));
    expect(order.slice(-4)).toEqual(['seccomp', 'resetSignals', 'closeFds', 'exec']);
  });

  it('without no_new_privs the filter goes in first, while CAP_SYS_ADMIN is still there to install it', () => {
    const spec = { ...hardened, process: { ...hardened.process, noNewPrivileges: false } };
    const order = names(planOps(initPlan(spec, { mode: 'run', executor: 'ts' })));
    expect(order.indexOf('seccomp')).toBeLessThan(order.indexOf('dropBounding'));
    expect(order).not.toContain('noNewPrivs');
  });

  it('exec mode: sync, the container’s root through its first process, the same profile, the new command', () => {
    const plan = initPlan(hardened, { mode: 'exec', targetPid: 4711, args: ['ps'], cwd: '/tmp' });
    const ops = planOps(plan);
    expect(ops.slice(0, 3)).toEqual([
      { op: 'sync' },
      { op: 'chroot', path: '/proc/4711/root' },
      { op: 'chdir', path: '/tmp' },
    ]);
    expect(names(ops)).toEqual(expect.arrayContaining(['dropBounding', 'setUser', 'capset', 'noNewPrivs', 'seccomp']));
    expect(names(ops)).not.toContain('mount');
    expect(ops.at(-1)).toEqual({ op: 'exec', args: ['ps'], env: hardened.process.env });
  });

  it('an overlay root is mounted with the layers top first and the container’s own upper and work dirs', () => {
    const spec = build(
      lesson04,
      withOverlay('/c/rootfs', { type: 'overlay', lower: ['/l/2', '/l/1'], upper: '/c/upper', work: '/c/work' }),
    );
    const ops = planOps(initPlan(spec, { mode: 'run', executor: 'ts' }));
    expect(ops).toContainEqual({
      op: 'mount',
      source: 'overlay',
      target: '/c/rootfs',
      fstype: 'overlay',
      flags: [],
      data: 'lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work,redirect_dir=off,metacopy=off',
    });
  });

  it('the overlay options come from the plan part a learner may write (lesson 06), the runtime’s features after them', () => {
    const spec = build(
      lesson04,
      withOverlay('/c/rootfs', { type: 'overlay', lower: ['/l/2', '/l/1'], upper: '/c/upper', work: '/c/work' }),
    );
    const mine = (lower: readonly string[], upper: string, work: string) =>
      `lowerdir=${[...lower].reverse().join(':')},upperdir=${upper},workdir=${work}`;
    const ops = planOps(initPlan(spec, { mode: 'run', executor: 'sh', parts: { overlayData: mine } }));
    expect(ops.find((o) => o.op === 'mount' && o.fstype === 'overlay')).toMatchObject({
      data: 'lowerdir=/l/1:/l/2,upperdir=/c/upper,workdir=/c/work,redirect_dir=off,metacopy=off',
    });
  });

  it('the sh init passes the overlay options as a parameter: one script text for every container', () => {
    const ovl = (id: string) =>
      build(
        { ...lesson04, id },
        withOverlay(`/c/${id}/rootfs`, { type: 'overlay', lower: ['/l/1'], upper: `/c/${id}/up`, work: `/c/${id}/wk` }),
      );
    const a = renderSh(initPlan(ovl('a'), { mode: 'run', executor: 'sh' }));
    const b = renderSh(initPlan(ovl('b'), { mode: 'run', executor: 'sh' }));
    expect(a.text).toContain('opts=lowerdir=$lower,upperdir=$upper,workdir=$work\n');
    expect(a.text).toContain('mount -t overlay -o "$opts,redirect_dir=off,metacopy=off" overlay "$root"');
    expect(a.text).not.toContain('/c/a');
    expect(a.text).toBe(b.text);
    expect(scriptArgs(a)).toEqual(['/c/a/rootfs', 'box', '/c/a/up', '/c/a/wk', '/l/1', '--']);
  });

  it('a stack of layers is a list the script joins: the same script for one layer or three, run by a real sh', async () => {
    const stack = build(
      { ...lesson04, id: 's' },
      withOverlay('/c/s/rootfs', {
        type: 'overlay',
        lower: ['/l/3', '/l/2', '/l/1'],
        upper: '/c/s/up',
        work: '/c/s/wk',
      }),
    );
    const one = build(
      { ...lesson04, id: 's' },
      withOverlay('/c/s/rootfs', { type: 'overlay', lower: ['/l/1'], upper: '/c/s/up', work: '/c/s/wk' }),
    );
    const s3 = renderSh(initPlan(stack, { mode: 'run', executor: 'sh' }));
    expect(s3.text).toBe(renderSh(initPlan(one, { mode: 'run', executor: 'sh' })).text);
    expect(scriptArgs(s3).slice(-4)).toEqual(['/l/3', '/l/2', '/l/1', '--']);
    // The head of the script, run by a real sh: the list becomes lowerdir's value, the command is what is left.
    const head = s3.text.split('\n').slice(0, 6).join('\n');
    const r = await execa('sh', [
      '-c',
      `${head}\necho "$lower|$upper|$*"`,
      'scr-init',
      ...scriptArgs(s3),
      'echo',
      'hi',
    ]);
    expect(r.stdout).toBe('/l/3:/l/2:/l/1|/c/s/up|echo hi');
  });

  it('overlay options a learner wrote that cannot be taken apart still reach mount whole, as one parameter', () => {
    expect(splitOverlayOptions('lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off')).toEqual({
      lower: ['/a', '/b'],
      upper: '/u',
      work: '/w',
      rest: ['index=off'],
    });
    expect(splitOverlayOptions('upperdir=/u,workdir=/w')).toBeUndefined();
    expect(splitOverlayOptions('lowerdir=/a,x="$(reboot)"')).toBeUndefined();
  });

  it('refuses a spec that would change the host', () => {
    expect(() =>
      initPlan({ ...lesson02, linux: { ...lesson02.linux, namespaces: [] } }, { mode: 'run', executor: 'sh' }),
    ).toThrow(/rename the host/);
  });
});

describe('the plan rendered', () => {
  it('as system calls, the way strace shows them', () => {
    const text = renderSyscalls(initPlan(lesson04, { mode: 'run', executor: 'ts' }));
    expect(text).toContain(`mount("proc", "${ROOTFS}/proc", "proc", MS_NOSUID|MS_NOEXEC|MS_NODEV, NULL)`);
    expect(text).toContain('pivot_root(".", ".")');
    expect(text).toContain('umount2(".", MNT_DETACH)');
    expect(text).toContain('sethostname("box", 3)');
    expect(text).toMatch(/^\/\/ pivot_root: the rootfs becomes \//m);
    expect(text).toContain('execve("sh" found in PATH, ["sh", "-c", "exit 7"], [');
  });

  it('a long overlay option string as adjacent C literals, one per line, that join back into it', () => {
    const plan = initPlan(
      {
        ...lesson04,
        root: { path: '/c/rootfs' },
        rootfs: { type: 'overlay', lower: ['/l/2', '/l/1'], upper: '/c/upper', work: '/c/work' },
      },
      { mode: 'run', executor: 'ts' },
    );
    const lines = renderSyscalls(plan).split('\n');
    const at = lines.findIndex((l) => l.startsWith('mount("overlay"'));
    const call = lines.slice(at, lines.findIndex((l, i) => i >= at && l.endsWith(')')) + 1);
    // A short one stays on one line; this one is cut into pieces, one per line, that C joins back into one string.
    const literals = [...call.join(' ').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).slice(3);
    expect(literals.join('')).toBe(
      'lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work,redirect_dir=off,metacopy=off',
    );
    expect(call[0]).toBe('mount("overlay", "/c/rootfs", "overlay", 0,');
  });

  it('as an sh script that parses, takes user values as parameters, and pivots without a directory', () => {
    const { text, params } = renderSh(initPlan(lesson04, { mode: 'run', executor: 'sh' }));
    expect(() => execFileSync('sh', ['-n', '-c', text])).not.toThrow();
    expect(params).toEqual([
      ['root', ROOTFS],
      ['hostname', 'box'],
    ]);
    expect(text).not.toContain(ROOTFS);
    expect(text).not.toContain('box');
    expect(text).toContain('cd "$root"\npivot_root . .\numount -l .\ncd /');
    expect(text).toContain('mount -t proc -o nosuid,noexec,nodev proc "$root"/proc');
    expect(text).toMatch(/unset OLDPWD PWD\nexec "\$@"$/);
  });

  it('lesson 02’s chroot becomes the exec line itself', () => {
    const { text } = renderSh(initPlan(lesson02, { mode: 'run', executor: 'sh' }));
    expect(text).toMatch(/exec chroot "\$root" "\$@"$/);
    expect(text).not.toContain('mount');
  });

  it('refuses what a shell cannot do, naming the TypeScript init', () => {
    expect(() => renderSh(initPlan(hardened, { mode: 'run', executor: 'sh' }))).toThrow(ShUnsupported);
  });
});

function deps(replies: string[] = ['go']): ExecuteDeps & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    send: (l) => sent.push(l),
    receive: () => replies.shift(),
    hostPid: () => 4711,
    capabilityNumber: (n) => ({ CAP_CHOWN: 0, CAP_KILL: 5 })[n] ?? 99,
    lastCapability: () => 6,
    seccompProgram: () => new Uint8Array(8 * 3),
  };
}

describe('executePlan (the TypeScript init) with recorded system calls', () => {
  const run = (spec: ContainerSpec, sys: RecordingSyscalls, d = deps()) => {
    try {
      executePlan(initPlan(spec, { mode: 'run', executor: 'ts' }), sys, d);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('makes lesson 04’s container call by call and ends in execve of the command found in PATH', () => {
    const sys = new RecordingSyscalls().withPath('/bin/sh', 'file', true);
    const d = deps();
    expect(run(lesson04, sys, d)).toBeInstanceOf(ExecvedForTest);
    expect(d.sent).toEqual(['ready 4711', 'exec']);
    expect(sys.calls[0]).toBe('sethostname box');
    expect(sys.calls).toContain(`mount null / null 0x44000`);
    expect(sys.calls).toContain(`mknod ${ROOTFS}/dev/null 020666 1:3`);
    expect(sys.calls.slice(-5)).toEqual([
      'umount2 . 2',
      'chdir /',
      'reset_signals',
      'cloexec_from 3',
      `execve /bin/sh ["sh","-c","exit 7"] ${JSON.stringify(lesson04.process.env)}`,
    ]);
  });

  it('drops the bounding set cap by cap, keeping only what the spec keeps', () => {
    const sys = new RecordingSyscalls().withPath('/bin/sh', 'file', true);
    run({ ...hardened, process: { ...hardened.process, args: ['sh'] } }, sys);
    expect(sys.calls.filter((c) => c.startsWith('capbset_drop'))).toEqual(
      [1, 2, 3, 4, 6].map((n) => `capbset_drop ${n}`),
    );
    expect(sys.calls).toContain('capset 1 1 0');
    expect(sys.calls).toEqual(
      expect.arrayContaining(['setgroups 10', 'setresgid 1000', 'setresuid 1000', 'no_new_privs']),
    );
  });

  it('a failed step stops everything after it and says which step, exit 125', () => {
    const sys = new RecordingSyscalls({ mount: 1 });
    const error = run(lesson04, sys) as InitError;
    expect(error).toBeInstanceOf(InitError);
    expect(error.exitCode).toBe(125);
    expect(error.message).toMatch(
      /^a private mount tree, the rootfs bound onto itself \(a mount point\) — mount null \/ null 0x44000: EPERM/,
    );
    expect(sys.calls.some((c) => c.startsWith('execve'))).toBe(false);
  });

  it('compiles the seccomp filter while the host does its part, and installs it at its own step', () => {
    const sys = new RecordingSyscalls().withPath('/bin/sh', 'file', true);
    const events: string[] = [];
    const d = deps();
    const recorded: ExecuteDeps & { sent: string[] } = {
      ...d,
      send: (l) => events.push(`send ${l}`),
      receive: () => (events.push('receive'), d.receive()),
      seccompProgram: (p) => (events.push(`compile ${p}`), d.seccompProgram(p)),
    };
    run({ ...hardened, process: { ...hardened.process, args: ['sh'] } }, sys, recorded);
    expect(events.slice(0, 3)).toEqual(['send ready 4711', 'compile docker-default', 'receive']);
    expect(events.filter((e) => e.startsWith('compile'))).toEqual(['compile docker-default']);
    expect(sys.calls.some((c) => c.startsWith('seccomp'))).toBe(true);
  });

  it('no go from the host: nothing is done', () => {
    const sys = new RecordingSyscalls();
    const error = run(lesson04, sys, deps([])) as InitError;
    expect(error.message).toMatch(/did not say go \(it hung up\)/);
    expect(sys.calls).toEqual([]);
  });

  it('a command that is not there is 127, one that cannot be executed 126, as docker says', () => {
    const sys = new RecordingSyscalls().withPath('/bin/notes.txt', 'file', false);
    expect(() => resolveCommand('nope', ['PATH=/bin'], sys)).toThrow(/"nope": executable file not found in \$PATH/);
    expect(() => resolveCommand('/bin/notes.txt', [], sys)).toThrow(expect.objectContaining({ exitCode: 126 }));
    expect(() => resolveCommand('/bin/gone', [], sys)).toThrow(expect.objectContaining({ exitCode: 127 }));
    expect(
      resolveCommand('sh', ['PATH=/usr/bin:/bin'], new RecordingSyscalls().withPath('/bin/sh', 'file', true)),
    ).toBe('/bin/sh');
  });
});

describe('the working directory', () => {
  it('is made after pivot_root (symlinks resolve inside the rootfs) and before the root turns read-only', () => {
    const spec: ContainerSpec = {
      ...lesson04,
      root: { ...lesson04.root, readonly: true },
      process: { ...lesson04.process, cwd: '/srv/app' },
    };
    const ops = planOps(initPlan(spec, { mode: 'run', executor: 'ts' }));
    const at = (match: (o: InitOp) => boolean) => ops.findIndex(match);
    const made = at((o) => o.op === 'mkpath' && o.path === '/srv/app');
    expect(made).toBeGreaterThan(at((o) => o.op === 'detachOldRoot'));
    expect(made).toBeLessThan(at((o) => o.op === 'readonlyRoot'));
    expect(made).toBeLessThan(at((o) => o.op === 'chdir' && o.path === '/srv/app'));
    // At / there is nothing to make.
    expect(
      planOps(initPlan(lesson04, { mode: 'run', executor: 'ts' })).filter((o) => o.op === 'mkpath' && o.path === '/'),
    ).toEqual([]);
  });
});

describe('the terminal (-t)', () => {
  const withTty: ContainerSpec = {
    ...hardened,
    root: { ...hardened.root, readonly: true },
    process: { ...hardened.process, terminal: true, consoleSize: { height: 33, width: 97 } },
  };
  const terminalOp = { op: 'terminal', socket: 4, uid: 1000, console: true, size: { rows: 33, columns: 97 } };

  it('is made right after pivot_root — in the container’s devpts, /dev still writable — and before the user changes', () => {
    const ops = planOps(initPlan(withTty, { mode: 'run', executor: 'ts' }));
    const at = (name: string) => ops.findIndex((o) => o.op === name);
    expect(ops[at('terminal')]).toEqual(terminalOp);
    expect(at('terminal')).toBe(at('detachOldRoot') + 2); // after the chdir("/") that ends the switch
    expect(at('terminal')).toBeLessThan(at('readonlyRoot'));
    expect(at('terminal')).toBeLessThan(at('setUser'));
    // Without -t there is none, and nothing else of the plan changes.
    const plain = planOps(
      initPlan({ ...withTty, process: { ...withTty.process, terminal: false } }, { mode: 'run', executor: 'ts' }),
    );
    expect(plain).toEqual(ops.filter((o) => o.op !== 'terminal'));
  });

  it('exec -t: a pty of its own after entering the root, without taking over /dev/console', () => {
    const ops = planOps(initPlan(hardened, { mode: 'exec', targetPid: 4711, args: ['sh'], terminal: true }));
    expect(names(ops).slice(0, 4)).toEqual(['sync', 'chroot', 'chdir', 'terminal']);
    expect(ops[3]).toEqual({ op: 'terminal', socket: 4, uid: 1000, console: false });
    expect(names(planOps(initPlan(hardened, { mode: 'exec', targetPid: 4711, args: ['sh'] })))).not.toContain(
      'terminal',
    );
  });

  it('is shown as the system calls the init makes, and refused by the sh init with the reason', () => {
    const text = renderSyscalls(initPlan(withTty, { mode: 'run', executor: 'ts' }));
    expect(text).toContain('open("/dev/ptmx", O_RDWR|O_NOCTTY|O_CLOEXEC) = m');
    expect(text).toContain('ioctl(m, TIOCSWINSZ, {rows: 33, cols: 97})');
    expect(text).toContain('setsid(); open("/dev/pts/n", O_RDWR) = s; ioctl(s, TIOCSCTTY, 0)');
    expect(text).toContain('fchown(s, 1000, -1)');
    expect(text).toContain('mount("/dev/pts/n", "/dev/console", NULL, MS_BIND, NULL)');
    expect(text).toContain('sendmsg(4, {"t", SCM_RIGHTS: [m]}); close(m)');
    const ttyOnly: ContainerSpec = { ...lesson04, process: { ...lesson04.process, terminal: true } };
    expect(() => renderSh(initPlan(ttyOnly, { mode: 'run', executor: 'sh' }))).toThrow(
      /cannot do "terminal" \(a shell/,
    );
  });

  it('the init makes the pty, sizes it, takes it, binds /dev/console, sends the master and closes its copy', () => {
    const sys = new RecordingSyscalls().withPath('/bin/sh', 'file', true);
    const spec: ContainerSpec = {
      ...lesson04,
      process: { ...lesson04.process, terminal: true, consoleSize: { height: 33, width: 97 } },
    };
    expect(() => executePlan(initPlan(spec, { mode: 'run', executor: 'ts' }), sys, deps())).toThrow(ExecvedForTest);
    const from = sys.calls.indexOf('open_pty');
    expect(sys.calls.slice(from, from + 7)).toEqual([
      'open_pty',
      'winsize 10 33x97',
      'take_terminal /dev/pts/0 uid 0',
      'touch /dev/console',
      'mount /dev/pts/0 /dev/console null 0x1000',
      'send_fd 4 10',
      'close 10',
    ]);
  });
});

describe('SCM_RIGHTS messages (lib/scm-rights.ts)', () => {
  const address = (() => {
    let next = 0x1000n;
    const seen = new Map<Buffer, bigint>();
    return (b: Buffer) => {
      if (!seen.has(b)) seen.set(b, (next += 0x100n));
      return seen.get(b) ?? 0n;
    };
  })();

  it('one byte of data and one fd as a SOL_SOCKET/SCM_RIGHTS control message, read back the same way', () => {
    const m = fdMessage(address, 7);
    expect(m.msghdr.readBigUInt64LE(16)).toBe(address(m.iov)); // msg_iov
    expect(m.msghdr.readBigUInt64LE(24)).toBe(1n); // msg_iovlen
    expect(m.msghdr.readBigUInt64LE(32)).toBe(address(m.control)); // msg_control
    expect(m.msghdr.readBigUInt64LE(40)).toBe(24n); // CMSG_SPACE(sizeof(int))
    expect(m.iov.readBigUInt64LE(0)).toBe(address(m.data));
    expect(m.iov.readBigUInt64LE(8)).toBe(1n);
    expect(m.control.readBigUInt64LE(0)).toBe(20n); // CMSG_LEN(sizeof(int))
    expect(receivedFd(m)).toBe(7);
    // What recvmsg leaves when the sender sent no fd: nothing to take.
    expect(receivedFd(fdMessage(address))).toBeUndefined();
  });
});
