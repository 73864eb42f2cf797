/**
 * Lesson 01 — chroot.
 *
 * The first ingredient of a container is its own root filesystem. chroot gives a process a different `/`, and
 * with the busybox rootfs that is already enough to feel like a different machine: `ls /` shows busybox's
 * world. This lesson then pokes holes in that feeling: the kernel is the host's, every host process is visible
 * once /proc is mounted, the mount itself lands in the host's mount table, and /proc/1/root walks straight back
 * out to the host's files.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  bindOwnRoot,
  chrootArgv,
  mountProcInRootfs,
  onlyEndedProcesses,
  ownRootArgv,
  ownRootPath,
  procMountArgv,
} from '../lib/chroot.ts';
import { CommandError } from '../lib/errors.ts';
import { argvShape } from '../lib/exercise.ts';
import { defineLesson, step } from '../lib/lesson.ts';
import { columns } from '../lib/output.ts';
import { readMountinfo } from '../lib/mountinfo.ts';
import { stateDir } from '../lib/names.ts';
import { quoteArgv } from '../lib/quote.ts';
import { createStateDir } from '../lib/state.ts';

interface State {
  /** Where this run chroots: its own bind of the rootfs. */
  root?: string;
  rootfsEntries?: string[];
  containerLs?: string[];
  hostLs?: string[];
  hostKernel?: string;
  containerKernel?: string;
  runnerPid?: number;
  containerPids?: number[];
  procMountOnHost?: boolean;
  /** The path through which the chrooted process read the host-only file. */
  escapedVia?: string;
  secret?: string;
  escapeRead?: string;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/**
 * The root link the escape goes through: /proc/1/root, unless this host shields PID 1 from us (some sandboxes
 * give PID 1 capabilities root here lacks); then the lesson runner's own, which leads to the same `/`.
 */
function escapeVia(): string {
  if (process.platform !== 'linux') return '/proc/1/root'; // explained, not run: the usual door
  try {
    fs.readdirSync('/proc/1/root/');
    return '/proc/1/root';
  } catch {
    return `/proc/${process.pid}/root`;
  }
}

/** The ids of the mounts at exactly this point in the host's mount table (a mount can hide another). */
const mountIdsAt = (point: string) =>
  readMountinfo()
    .filter((m) => m.mountPoint === point)
    .map((m) => m.id);

export default defineLesson<State>({
  number: '01',
  title: 'chroot: a root filesystem of its own',
  summary:
    'chroot changes what a process calls "/". We run busybox commands chrooted into the rootfs, then find out ' +
    'what chroot does not isolate: the kernel, the processes, the mounts, and a way back out.',
  docker: 'docker run --rm -it busybox sh   (the image becomes the root filesystem)',
  needsRoot: true,
  needsRootfs: true,
  rootfsCommands: ['sh', 'ls', 'uname', 'cat'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'A root of its own for this run',
      explain:
        'chroot needs a directory to make the new `/`. This run gives itself one of its own: `mount --bind` ' +
        'shows the rootfs a second time, at a path under /run/scratch (nothing is copied), and `--make-private` ' +
        'keeps whatever is mounted below it there. Step 4 mounts /proc in it, so two runs of this lesson at once ' +
        '(two terminals, a room on one server) never share a mount point, and the rootfs itself stays untouched.',
      docker: 'docker run gives every container a root of its own: an overlay on the image (lesson 06)',
      commands: (ctx) => {
        const root = ownRootPath(ctx.id);
        return { bind: ownRootArgv(ctx.rootfs, root), hostMounts: ['grep', ` ${root} `, '/proc/self/mountinfo'] };
      },
      async run(ctx, cmd) {
        createStateDir(ctx.cleanup, ctx.id);
        ctx.state.root = ownRootPath(ctx.id);
        await bindOwnRoot(ctx.runner, ctx.cleanup, ctx.rootfs, ctx.state.root);
        const onHost = await ctx.runner.run(cmd.hostMounts, { reject: false });
        ctx.out.evidence(
          `the host's mount table: a new mount at ${ctx.state.root}; its 4th field is the directory it shows`,
          onHost.stdout || '(none)',
        );
      },
    }),
    step({
      title: 'ls / inside the chroot',
      explain:
        'chroot ROOTFS CMD runs CMD with ROOTFS as its root directory. Every path it opens starts there, so ' +
        '`ls /` lists the rootfs: a single static busybox binary, a link for each command it provides, and ' +
        'empty mount points. Compare it with the host.',
      docker: 'docker run --rm busybox ls /',
      commands: (ctx) => ({ host: ['ls', '/'], container: ctx.use(chrootArgv)(ownRootPath(ctx.id), ['/bin/ls', '/']) }),
      hint: 2,
      async run(ctx, cmd) {
        const host = await ctx.runner.run(cmd.host);
        const inside = await ctx.runner.run(cmd.container);
        ctx.state.hostLs = lines(host.stdout);
        ctx.state.containerLs = lines(inside.stdout);
        ctx.state.rootfsEntries = fs.readdirSync(ctx.rootfs).filter((e) => !e.startsWith('.'));
        const col = Math.floor((ctx.out.width - 7) / 2);
        ctx.out.compare('ls /', columns(ctx.state.hostLs, col), columns(ctx.state.containerLs, col));
      },
    }),
    step({
      title: 'The same kernel',
      explain:
        "A container is not a virtual machine: there is one kernel, the host's. `uname` asks the kernel who " +
        'it is, and gets the same answer inside and outside. (This is why a container cannot run a different ' +
        "operating system, and why a kernel bug is everyone's bug.)",
      docker: 'docker run --rm busybox uname -r',
      commands: (ctx) => ({
        host: ['uname', '-r'],
        container: ctx.use(chrootArgv)(ownRootPath(ctx.id), ['/bin/uname', '-r']),
      }),
      hint: 2,
      async run(ctx, cmd) {
        const host = await ctx.runner.run(cmd.host);
        const inside = await ctx.runner.run(cmd.container);
        ctx.state.hostKernel = host.stdout.trim();
        ctx.state.containerKernel = inside.stdout.trim();
        ctx.out.compare('uname -r', host.stdout, inside.stdout);
      },
    }),
    step({
      title: 'Mount /proc and look at the processes',
      explain:
        '`ps` only reads /proc: one numbered directory per process. In the rootfs /proc is empty until a proc ' +
        'filesystem is mounted there. We mount one, and `ls /proc` inside the chroot lists a directory for ' +
        'every process on the host, the lesson runner included: chroot has no PID isolation. And because ' +
        "there is no mount namespace either, the mount we just made appears in the host's own mount table.",
      docker: "docker run --rm busybox ps   (shows only the container's own processes)",
      commands: (ctx) => ({
        mount: procMountArgv(ownRootPath(ctx.id)),
        ls: ctx.use(chrootArgv)(ownRootPath(ctx.id), ['/bin/ls', '/proc']),
        hostMounts: ['grep', path.join(ownRootPath(ctx.id), 'proc'), '/proc/self/mounts'],
      }),
      hint: 2,
      async run(ctx, cmd) {
        const root = ownRootPath(ctx.id);
        const target = path.join(root, 'proc');
        const before = new Set(mountIdsAt(target));
        await mountProcInRootfs(ctx.runner, ctx.cleanup, root);
        const ls = await ctx.runner.run(cmd.ls, { reject: false });
        if (ls.exitCode !== 0 && !onlyEndedProcesses(ls)) throw new CommandError({ ...ls, display: quoteArgv(cmd.ls) });
        if (ls.exitCode !== 0) {
          const ended = lines(ls.stderr).length;
          ctx.out.note(`ls said "No such file" for ${ended} of them: host processes that ended while it listed /proc`);
        }
        ctx.state.runnerPid = process.pid;
        const pids = lines(ls.stdout)
          .flatMap((l) => l.split(/\s+/))
          .filter((e) => /^\d+$/.test(e))
          .map(Number)
          .sort((a, b) => a - b);
        ctx.state.containerPids = pids;
        const shown = pids.slice(0, 12).join(' ');
        ctx.out.evidence(
          `ls /proc inside the chroot: ${pids.length} numbered directories, one per host process:`,
          `${shown} …\n${pids.includes(process.pid) ? `${process.pid} is there: the lesson runner itself` : ''}`,
        );
        const onHost = await ctx.runner.run(cmd.hostMounts, { reject: false });
        ctx.state.procMountOnHost = mountIdsAt(target).some((id) => !before.has(id));
        ctx.out.evidence("the host's mount table now has the chroot's /proc in it:", onHost.stdout || '(none)');
      },
    }),
    step({
      title: 'Escape through /proc/1/root',
      explain:
        'We put a file on the host, outside the rootfs, that the chroot should never see. But /proc/<pid>/root ' +
        "is a link to the root directory of process <pid>, and PID 1 is the host's init, whose root is the " +
        "host's `/`. Following that link from inside the chroot leads back to the host. (Where PID 1 is " +
        'shielded from us, the root link of any other host process, like the lesson runner, is the same door.)',
      commands: (ctx) => {
        // Decided before anything runs, by looking (not doing): which root link this host lets us follow.
        const via = escapeVia();
        return {
          escape: ctx.use(chrootArgv)(ownRootPath(ctx.id), ['/bin/cat', `${via}${stateDir(ctx.id)}/host-only.txt`]),
          look: ctx.use(chrootArgv)(ownRootPath(ctx.id), ['/bin/ls', `${via}/`]),
        };
      },
      hint: 2,
      async run(ctx, cmd) {
        const dir = stateDir(ctx.id); // made in step 1, with this run's root in it
        const secret = `host-only ${crypto.randomBytes(6).toString('hex')}`;
        fs.writeFileSync(path.join(dir, 'host-only.txt'), `${secret}\n`);
        ctx.state.secret = secret;
        ctx.out.evidence(`on the host: ${path.join(dir, 'host-only.txt')} contains`, secret);

        const via = escapeVia();
        if (via !== '/proc/1/root') {
          ctx.out.note(
            `/proc/1/root is shielded here (PID 1 holds capabilities we lack); the runner's own root link, ${via}, is the same door:`,
          );
        }
        const read = await ctx.runner.run(cmd.escape, { reject: false });
        const look = await ctx.runner.run(cmd.look, { reject: false });
        ctx.state.escapedVia = via;
        ctx.state.escapeRead = read.stdout.trim();
        const col = Math.floor((ctx.out.width - 7) / 2);
        ctx.out.compare(
          `ls / on the host vs ls ${via}/ inside the chroot: the same directory`,
          columns(ctx.state.hostLs ?? [], col),
          columns(lines(look.stdout), col),
        );
        ctx.out.evidence(`inside the chroot: cat ${via}${dir}/host-only.txt`, read.stdout || read.stderr);
      },
    }),
  ],

  shell: (ctx) => ({
    explain:
      'You are in a shell chrooted into the rootfs, with /proc mounted. Try: `ls /`, `ls /proc`, ' +
      '`hostname`, `ls /proc/1/root/`, `cat /proc/mounts`. Type `exit` (or Ctrl-D) to leave; /proc is then ' +
      'unmounted for you, and so is anything you mount under the rootfs here.',
    argv: ctx.use(chrootArgv)(ownRootPath(ctx.id), ['/bin/sh', '-l']),
    root: ownRootPath(ctx.id),
  }),

  checks: (s) => [
    {
      claim: 'ls / inside the chroot lists the rootfs, not the host',
      ok:
        !!s.containerLs &&
        !!s.rootfsEntries &&
        [...s.containerLs].sort().join() === [...s.rootfsEntries].sort().join() &&
        s.containerLs.join() !== s.hostLs?.join(),
      expected: `ls / to print the rootfs's entries: ${s.rootfsEntries?.join(' ') ?? '?'}`,
      seen: `ls / printed ${s.containerLs?.length ? s.containerLs.join(' ') : 'nothing'}`,
      hint: 2,
    },
    {
      claim: "the kernel inside is the host's kernel",
      ok: !!s.hostKernel && s.hostKernel === s.containerKernel,
      detail: s.containerKernel,
      expected: `uname -r inside to print ${s.hostKernel ?? "the host's release"}`,
      seen: `it printed ${s.containerKernel || 'nothing'}`,
      hint: 2,
    },
    {
      claim: 'host processes (the lesson runner itself) are visible inside',
      ok: !!s.runnerPid && !!s.containerPids?.includes(s.runnerPid),
      detail: `${s.containerPids?.length ?? 0} processes in /proc`,
      expected: `ls /proc inside to list the lesson runner, PID ${s.runnerPid ?? '?'}`,
      seen: `it listed ${s.containerPids?.length ?? 0} numbered directories${s.runnerPid && s.containerPids?.includes(s.runnerPid) ? '' : ', not that one'}`,
      hint: 2,
    },
    {
      claim: "the /proc mounted inside shows up in the host's mount table",
      ok: s.procMountOnHost === true,
      expected: `a new proc mount at ${s.root ?? '<this run’s root>'}/proc in /proc/self/mountinfo`,
      seen: s.procMountOnHost ? 'there' : 'none',
    },
    {
      claim: 'the chrooted process read a file that exists only on the host',
      ok: !!s.secret && s.escapeRead === s.secret,
      detail: s.escapedVia,
      expected: `cat ${s.escapedVia ?? '/proc/1/root'}…/host-only.txt to print "${s.secret ?? '?'}"`,
      seen: `it printed ${s.escapeRead ? `"${s.escapeRead}"` : 'nothing'}`,
      hint: 2,
    },
  ],

  exercise: {
    file: '01-chroot.ts',
    functions: { chrootArgv },
    solutionIn: ['lib/chroot.ts'],
    contract: 'write chrootArgv(rootfs, command): the argv that runs command with rootfs as its root directory.',
    hints: [
      'It is one command a learner can type: the chroot(8) tool takes the new root, then the command and its arguments.',
      'The argv starts with the program: ["chroot", …]. What follows is the rootfs, then every word of the command.',
      'return ["chroot", rootfs, ...command];',
    ],
    minutes: 5,
    shape: { chrootArgv: argvShape('chrootArgv') },
  },

  recap: {
    saw: [
      'chroot gives a process its own `/`: the busybox rootfs looks like a tiny Linux system of its own.',
      "It is still the host's kernel, and every host process is visible once /proc is mounted.",
      'A mount made "inside" is a mount on the host: there is no separate mount table.',
      'The root link of a host process (/proc/1/root) leads straight back out: chroot is not a security boundary.',
    ],
    next:
      'Lesson 02 starts adding namespaces: the container gets its own hostname (UTS) and its own System V IPC ' +
      'objects, while the host keeps its own. Lessons 03 and 04 then close the doors chroot left open.',
  },
});
