/**
 * Lesson 03 — the PID namespace.
 *
 * In lesson 02 the container still saw every process on the host. A PID namespace gives it a numbering of its
 * own: the first process in it is PID 1, its children are 2, 3, … and the host's processes simply have no
 * number in there. The host still sees the container's processes, under their host PIDs: one process, two
 * numbers. For `ps` to show the new numbering, the container needs a /proc of its own, which needs a mount
 * namespace. And PID 1 is special: it adopts orphans and must reap them, and when it exits, the kernel kills
 * everything else in the namespace.
 */
import path from 'node:path';
import { defineLesson, showArgv, step, writeFile, type LessonContext } from '../lib/lesson.ts';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { containerCommands, interactiveShell } from '../lib/container/shown.ts';
import { startContainer, type Container, type ContainerResult } from '../lib/container/start.ts';
import { addPidNamespace, build, chrootSpec, withUtsIpc } from '../lib/kit.ts';
import { unshareArgvFor } from '../lib/container/launch.ts';
import { argvShape, specShape } from '../lib/exercise.ts';
import { mountTablePath, readMountinfo } from '../lib/mountinfo.ts';
import type { ContainerSpec } from '../lib/spec.ts';
import { waitFor } from '../lib/wait.ts';
import { childrenOf, processesInPidNamespace, readNsPid, readProcessState } from '../lib/namespaces.ts';
import { processExists, readNamespaces } from '../lib/proc.ts';
import { parsePsScript, PS_SCRIPT, type PsRow } from '../lib/rootfs-tools.ts';

type Use = LessonContext<unknown>['use'];

interface State {
  /** The running container, which later steps exec into. */
  container?: Container;
  hostPid?: number;
  nsPid?: number[];
  /** What ps (over the container's /proc) listed in step 2. */
  psInside?: PsRow[];
  /** What it listed in step 3, next to the host's count: what that step's check is about. */
  psOwnProc?: PsRow[];
  hostProcessCount?: number;
  /** Mounts at <rootfs>/proc in the host's table before the container started (an earlier lesson's leftover). */
  procMountsBefore?: number[];
  procMountOnHost?: boolean;
  zombieHostPid?: number;
  zombieParent?: number;
  zombieInside?: PsRow;
  namespaceProcesses?: number[];
  survivors?: number[];
  exitSignal?: string;
  ended?: ContainerResult;
}

/** The container of this lesson: lesson 02's, plus a PID namespace, and a mount namespace for its /proc. */
function containerSpec(ctx: { id: string; rootfs: string; use?: Use }): ContainerSpec {
  const add = ctx.use ? ctx.use(addPidNamespace) : addPidNamespace;
  return add(
    build(chrootSpec({ id: ctx.id, rootfs: ctx.rootfs, args: ['sleep', '3600'] }), withUtsIpc(`scr${ctx.id}`)),
  );
}

/** How this lesson starts its container: the sh init, the namespaces made by (the learner's) unshare argv. */
const launch = (ctx: { use: Use }) => ({ executor: 'sh' as const, unshareArgv: ctx.use(unshareArgvFor) });

/**
 * `ps`, as the container runs it: a few lines of sh over /proc (see lib/rootfs-tools.ts), written to ps.sh once,
 * so it works in any rootfs — a Debian minbase has no ps — and shows that ps is nothing more than that.
 */
const PS_FILE = 'ps.sh';
const PS = ['sh', '-c', PS_SCRIPT];
const ORPHAN = ['sh', '-c', 'sleep 0 &'];
// `>&-` closes the sleeps' output, or the exec would wait for them to let go of its stdout pipe.
const TWO_MORE = ['sh', '-c', 'sleep 3600 >&- 2>&- & sleep 3600 >&- 2>&- &'];

/**
 * A second chroot that leaves its working directory behind: busybox's `nsenter -r/bin` chroots into /bin
 * without a chdir, so the shell starts outside its own root, where `..` climbs to the real `/` of the mount
 * tree — the host's, in this lesson, since chroot leaves it in the tree. Lesson 04's pivot_root removes it.
 */
export const SECOND_CHROOT = ['nsenter', '-r/bin', '/busybox', 'sh', '-c', 'cd ../../../../../../../..; /busybox ls'];

function running(state: State): Container {
  if (!state.container) throw new Error('the container of step 1 is not running');
  return state.container;
}

/** The exec into the container: `$PID` until the container runs (the framework shows ps.sh by its name). */
const inside = (ctx: { id: string; rootfs: string; state: State }, argv: readonly string[]) =>
  nsenterExecArgv(containerSpec(ctx), ctx.state.hostPid ?? '$PID', argv);
const PS_HOST = ['ps', '-o', 'pid,ppid,comm', '-p'];

/** The rootfs's /proc as the host's mount table names it (a symlinked --rootfs is mounted at its target). */
function procPoint(rootfs: string): string {
  return path.join(mountTablePath(rootfs), 'proc');
}

const mountIdsAt = (point: string) =>
  readMountinfo()
    .filter((m) => m.mountPoint === point)
    .map((m) => m.id);

export default defineLesson<State>({
  number: '03',
  title: 'PID namespace: PID 1 and a /proc of its own',
  summary:
    'A PID namespace gives the container its own process numbers: its first process is PID 1 inside and an ' +
    "ordinary PID on the host. With a /proc mounted for it, ps inside lists only the container's processes. " +
    'We also see what makes PID 1 special: it adopts orphans, and when it dies, the whole namespace dies.',
  docker: 'docker run -d busybox sleep 3600   (its own PID namespace by default; --pid host shares the host’s)',
  needsRoot: true,
  needsRootfs: true,
  rootfsCommands: ['sh', 'sleep'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'Start the container in a PID namespace',
      explain:
        'Two namespaces more than lesson 02: --pid and --mount. `unshare(2)` cannot move a running process ' +
        'into a new PID namespace — its PID is fixed for life — so only the children it starts afterwards enter ' +
        'it: that is why unshare needs --fork here, and the init script runs as the first child, PID 1. ' +
        "--kill-child ties the container's life to unshare's. The new lines in the script mount a proc " +
        'filesystem at <rootfs>/proc, after making the mount namespace private (see why in the next steps).',
      docker: 'docker run -d busybox sleep 3600',
      commands: (ctx) => ({
        ...containerCommands(containerSpec(ctx), { ...launch(ctx), background: true }),
        ps: [...PS_HOST, '$LAUNCHER,$PID'],
      }),
      hint: 2,
      async run(ctx) {
        ctx.state.procMountsBefore = mountIdsAt(procPoint(ctx.rootfs));
        const container = await startContainer(ctx.runner, ctx.cleanup, containerSpec(ctx), launch(ctx));
        ctx.state.container = container;
        ctx.state.hostPid = container.hostPid;
        const ps = await ctx.runner.run([...PS_HOST, `${container.launcherPid},${container.hostPid}`]);
        ctx.out.evidence('on the host: unshare, and its child, the container’s first process', ps.stdout);
      },
    }),
    step({
      title: 'One process, two PIDs',
      explain:
        'The NSpid line of /proc/<pid>/status lists a process’s PID in every PID namespace it is in, from the ' +
        "host's down to its own. The container's sleep has two: an ordinary host PID, and 1 — it is the init " +
        'process of its namespace. Inside, ps agrees — here a few lines of sh that do what ps does, list ' +
        "/proc's numbered directories, written to ps.sh once: a rootfs need not have ps for this to work.",
      docker: 'docker top CONTAINER   (host PIDs)   vs   docker exec CONTAINER ps   (container PIDs)',
      commands: (ctx) => ({
        host: ['grep', 'NSpid', `/proc/${ctx.state.hostPid ?? '$PID'}/status`],
        ps: writeFile(PS_FILE, PS_SCRIPT),
        inside: inside(ctx, PS),
      }),
      async run(ctx, cmd) {
        const c = running(ctx.state);
        const nspid = await ctx.runner.run(cmd.host);
        ctx.state.nsPid = readNsPid(c.hostPid);
        const ps = await c.exec(PS);
        ctx.state.psInside = parsePsScript(ps.stdout);
        ctx.out.compare('the same sleep, seen from each side', nspid.stdout, ps.stdout);
      },
    }),
    step({
      title: 'A /proc of its own: ps sees only the container',
      explain:
        '`ps` knows nothing about namespaces: it lists the directories in /proc. A proc filesystem shows the PID ' +
        'namespace of the process that mounted it, so the container needs its own, mounted from inside — the ' +
        "host's /proc would list every host process, as in lesson 01. Mounting it needs the mount namespace: " +
        "without one, the mount would land in the host's mount table (lesson 01 saw exactly that). With it, " +
        'and propagation private, the mount exists only inside: the host’s /proc/self/mountinfo has no trace.',
      commands: (ctx) => ({
        inside: inside(ctx, PS),
        host: ['ls', '/proc'],
        hostMounts: ['grep', procPoint(ctx.rootfs), '/proc/self/mountinfo'],
      }),
      async run(ctx, cmd) {
        const inside = await running(ctx.state).exec(PS);
        ctx.state.psOwnProc = parsePsScript(inside.stdout);
        const host = await ctx.runner.run(cmd.host);
        ctx.state.hostProcessCount = host.stdout.split(/\s+/).filter((e) => /^\d+$/.test(e)).length;
        ctx.out.compare(
          'processes each side can see',
          `${ctx.state.hostProcessCount} processes (numbered entries of ls /proc)`,
          `${ctx.state.psOwnProc.length} processes:\n${inside.stdout}`,
        );
        const point = procPoint(ctx.rootfs);
        const before = new Set(ctx.state.procMountsBefore ?? []);
        const grep = await ctx.runner.run(cmd.hostMounts, { reject: false });
        ctx.state.procMountOnHost = mountIdsAt(point).some((id) => !before.has(id));
        ctx.out.evidence(
          "the container's /proc in the host's mount table:",
          ctx.state.procMountOnHost ? grep.stdout : '(not there)',
        );
        if (before.size > 0) {
          // Not ours, and not the container's: say whose it may be, and how it goes, rather than fail over it.
          ctx.out.note(
            `${point} already had a proc mount before this lesson started (left by an earlier lesson's shell, ` +
              `or another lesson running now): \`umount ${point}\` removes it. The container's own is not there.`,
          );
        }
      },
    }),
    step({
      title: 'PID 1 adopts orphans, and must reap them',
      explain:
        'When a process exits, it stays a zombie (state Z) until its parent collects its exit status with ' +
        'wait(). When a parent exits first, its children are adopted by PID 1 of their namespace — so PID 1 ' +
        'must wait() for children it never started. A normal init does; `sleep` does not. We run a shell that ' +
        'starts `sleep 0` in the background and exits at once: the sleep is orphaned, adopted by PID 1, exits, ' +
        'and stays a zombie forever. Enough of them and the namespace runs out of PIDs. This is why ' +
        '`docker run --init` puts a tiny init (tini) in front of the command.',
      docker: 'docker run --init ...   (tini as PID 1: it reaps zombies and forwards signals)',
      commands: (ctx) => ({ orphan: inside(ctx, ORPHAN), inside: inside(ctx, PS) }),
      async run(ctx) {
        const c = running(ctx.state);
        const before = new Set(childrenOf(c.hostPid));
        await c.exec(ORPHAN);
        const zombie = await waitFor('the orphaned sleep to become a zombie', () =>
          childrenOf(c.hostPid).find((p) => !before.has(p) && readProcessState(p)?.state === 'Z'),
        );
        ctx.state.zombieHostPid = zombie;
        ctx.state.zombieParent = readProcessState(zombie)?.ppid;
        const ps = await c.exec(PS);
        ctx.state.psInside = parsePsScript(ps.stdout);
        ctx.state.zombieInside = ctx.state.psInside.find((p) => p.stat.startsWith('Z'));
        ctx.out.compare(
          'the zombie, from each side',
          `PID ${zombie}  state ${readProcessState(zombie)?.state}\nparent ${ctx.state.zombieParent} (the container's PID 1)`,
          ps.stdout,
        );
      },
    }),
    step({
      title: 'When PID 1 exits, the namespace dies',
      explain:
        'A PID namespace lives as long as its PID 1. When PID 1 exits, the kernel sends SIGKILL to every other ' +
        'process in the namespace — they cannot catch it. We start two more sleeps inside, list every process ' +
        'of the namespace from the host, then kill only PID 1 (by its host PID) and look again: all gone. That ' +
        'is why a container stops when its main process exits, whatever else it started.',
      docker: 'docker kill CONTAINER   (kills PID 1; the rest go with it)',
      commands: (ctx) => ({
        more: inside(ctx, TWO_MORE),
        kill: ['kill', '-KILL', String(ctx.state.hostPid ?? '$PID')],
        status: { shell: 'wait $!; echo "exit $?"' },
      }),
      async run(ctx, cmd) {
        const c = running(ctx.state);
        await c.exec(TWO_MORE);
        const inode = readNamespaces(c.hostPid).pid ?? 0;
        const procs = await waitFor('the two sleeps to start', () => {
          const all = processesInPidNamespace(inode);
          return all.length >= 4 ? all : undefined;
        });
        ctx.state.namespaceProcesses = procs;
        const describe = (pids: number[]) =>
          pids
            .map((p) => `${p} ${readProcessState(p)?.state ?? '-'} ${readProcessState(p)?.comm ?? '(gone)'}`)
            .join('\n');
        ctx.out.evidence("host PIDs in the container's PID namespace, before killing PID 1:", describe(procs));
        await ctx.runner.run(cmd.kill);
        const result = await c.wait();
        ctx.state.ended = result;
        ctx.state.exitSignal = result.signal;
        ctx.state.survivors = procs.filter(processExists);
        ctx.out.evidence(
          'the same PIDs after:',
          ctx.state.survivors.length ? describe(ctx.state.survivors) : '(none left: every one was killed)',
        );
        ctx.out.evidence('how the container ended:', `exit ${result.exitCode} (${result.signal ?? 'no signal'})`);
        if (result.rewritten) {
          // What the shown `wait $!` prints on this host differs: say so rather than rewrite it silently.
          ctx.out.note(
            `Typed in a shell, \`wait $!\` prints exit ${result.rewritten.launcherExitCode} here, not 137: unshare ` +
              `itself exited ${result.rewritten.launcherExitCode} ("${result.rewritten.launcherSaid}"), a ` +
              'util-linux 2.38 bug — it cannot re-raise the SIGKILL that killed its child. The lesson reports ' +
              'what killed PID 1: SIGKILL, which a shell shows as 137 (128 + 9).',
          );
        }
      },
    }),
  ],

  shell: (ctx) =>
    interactiveShell(
      containerSpec(ctx),
      'A shell as PID 1 of a new PID namespace, with its own /proc. Try `echo $$`, `ls /proc`, ' +
        '`sleep 100 &` then `ls /proc` again. The escape of lesson 01 (`ls /proc/1/root/`) now leads to the ' +
        "container itself… but the host's files are still in this mount tree: on the busybox rootfs, " +
        `\`${showArgv(SECOND_CHROOT)}\` (a second chroot that leaves its working directory outside) lists ` +
        "the host's /. Lesson 04 fixes that. `exit` ends PID 1 and the namespace with it.",
      { ...launch(ctx), runner: ctx.runner, cleanup: ctx.cleanup },
    ),

  checks: (s) => {
    const pidOne = s.psInside?.find((p) => p.pid === 1);
    const ownPids = s.psOwnProc?.map((p) => p.pid) ?? [];
    return [
      {
        claim: 'the container’s first process is PID 1 inside and another PID on the host',
        ok: s.nsPid?.length === 2 && s.nsPid[1] === 1 && s.nsPid[0] === s.hostPid && s.hostPid !== 1,
        detail: s.nsPid?.join(' → '),
        expected: `NSpid: ${s.hostPid ?? 'a host PID'} 1 (two PID namespaces, PID 1 in its own)`,
        seen: `NSpid: ${s.nsPid?.join(' ') ?? 'nothing'}`,
        hint: 2,
      },
      {
        claim: 'ps inside shows the container’s sleep as PID 1',
        ok: pidOne?.command === 'sleep',
        expected: 'ps inside: PID 1 is sleep',
        seen: pidOne ? `PID 1 is ${pidOne.command}` : 'no PID 1 in the container’s /proc',
        hint: 2,
      },
      {
        claim: 'ps inside lists only the container’s few processes, not the host’s',
        ok: ownPids.length > 0 && ownPids.length < 8 && ownPids.length < (s.hostProcessCount ?? 0),
        detail: `${ownPids.length} inside vs ${s.hostProcessCount} on the host`,
        expected: 'ps inside to list a few processes (a /proc mounted by the container, for its PID namespace)',
        seen: `${ownPids.length} inside vs ${s.hostProcessCount} on the host${
          ownPids.length === 0 ? ': the container’s /proc is empty, nothing is mounted there' : ''
        }`,
        hint: 1,
      },
      {
        claim: "the container's /proc mount is not in the host's mount table",
        ok: s.procMountOnHost === false,
        expected: "no new proc mount at <rootfs>/proc in the host's /proc/self/mountinfo",
        seen: s.procMountOnHost ? 'one there: it was made in the host’s mount namespace' : 'step 3 did not run',
        hint: 1,
      },
      {
        claim: 'an orphan was adopted by PID 1, which never reaped it: a zombie',
        ok: !!s.zombieHostPid && s.zombieParent === s.hostPid && s.zombieInside?.ppid === 1,
        expected: 'a zombie whose parent is the container’s PID 1 (PPID 1 inside)',
        seen: s.zombieHostPid
          ? `zombie ${s.zombieHostPid}, parent ${s.zombieParent} on the host, PPID ${s.zombieInside?.ppid ?? '?'} inside`
          : 'no zombie',
        hint: 2,
      },
      {
        claim: 'killing PID 1 killed every process in the namespace',
        ok: (s.namespaceProcesses?.length ?? 0) >= 4 && s.survivors?.length === 0,
        detail: `${s.namespaceProcesses?.length ?? 0} processes before, ${s.survivors?.length ?? '?'} after`,
        expected: 'at least 4 processes in the namespace before, none after',
        seen: `${s.namespaceProcesses?.length ?? 0} before, ${s.survivors?.length ?? '?'} after`,
        hint: 2,
      },
    ];
  },

  exercise: {
    file: '03-pid-namespace.ts',
    functions: { addPidNamespace, unshareArgvFor },
    solutionIn: ['lib/kit.ts', 'lib/container/launch.ts'],
    contract:
      'write addPidNamespace(spec) (a pid and a mount namespace, /proc mounted) and unshareArgvFor(spec, executor) ' +
      '(the unshare flags, with --fork for a PID namespace).',
    hints: [
      'addPidNamespace: two entries in spec.linux.namespaces, one in spec.mounts. unshareArgvFor: one flag per namespace without a path.',
      'The flags: mount → --mount, uts → --uts, ipc → --ipc, pid → --pid, network → --net, user → --user, cgroup → --cgroup. Then --fork --kill-child when pid is among them, and "--" last.',
      'lib/namespaces.ts has NAMESPACES[type].flag, and lib/container/launch.ts’s cgroupnsByInit says when the cgroup namespace is left to the TypeScript init.',
    ],
    minutes: 15,
    shape: { addPidNamespace: specShape('addPidNamespace'), unshareArgvFor: argvShape('unshareArgvFor') },
  },

  recap: {
    saw: [
      'unshare --pid --fork: the container’s first process is PID 1 inside and an ordinary PID on the host.',
      'ps reads /proc; a /proc mounted inside, in the container’s own mount namespace, shows only its processes.',
      'PID 1 adopts orphans and must reap them, or they stay zombies (docker run --init exists for this).',
      'When PID 1 dies, the kernel kills everything else in its namespace.',
    ],
    next:
      'Lesson 04 finishes the filesystem: private mount propagation, pivot_root instead of chroot, a minimal /dev ' +
      'and a read-only /sys — and the escapes of lesson 01 stop working.',
  },
});
