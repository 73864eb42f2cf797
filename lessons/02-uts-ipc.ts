/**
 * Lesson 02 — UTS and IPC namespaces.
 *
 * Lesson 01's chroot gave the container its own `/`, and nothing else. Here it gets its first two namespaces:
 * UTS (its own hostname) and IPC (its own System V message queues, semaphores and shared memory). From now on a
 * container is started by a short generated init script run under `unshare`; this lesson prints it. We look
 * at the result from both sides: the namespace links in /proc, the hostname, and a message queue made on each
 * side that the other side cannot see.
 */
import { defineLesson, step } from '../lib/lesson.ts';
import { containerCommands, interactiveShell } from '../lib/container/shown.ts';
import { specShape } from '../lib/exercise.ts';
import { startContainer } from '../lib/container/start.ts';
import { addUtsIpc, chrootSpec } from '../lib/kit.ts';
import type { LessonContext } from '../lib/lesson.ts';
import type { ContainerSpec } from '../lib/spec.ts';
import {
  differingNamespaces,
  formatNamespaces,
  nsenterArgv,
  ownHostname,
  parseNamespaceListing,
  parseIpcmkId,
  parseIpcsQueues,
  procKinds,
  readHostname,
  type NamespaceInodes,
} from '../lib/namespaces.ts';
import { NAMESPACE_KINDS, readNamespaces } from '../lib/proc.ts';
import type { NamespaceKind } from '../lib/proc.ts';

type Use = LessonContext<unknown>['use'];

interface State {
  containerHostname?: string;
  pid?: number;
  hostNamespaces?: NamespaceInodes;
  containerNamespaces?: NamespaceInodes;
  hostHostnameBefore?: string;
  hostHostnameAfter?: string;
  containerHostnameSeen?: string;
  renamedTo?: string;
  containerHostnameAfterRename?: string;
  /** Set when the container shares the host's UTS namespace: the rename was not run, it would rename the host. */
  renameRefused?: boolean;
  hostQueueKey?: string;
  containerQueueKey?: string;
  hostSees?: string[];
  containerSees?: string[];
}

/** The container of this lesson: lesson 01's chroot, plus a UTS and an IPC namespace and a hostname. */
function containerSpec(ctx: { id: string; rootfs: string; use?: Use }): ContainerSpec {
  const add = ctx.use ? ctx.use(addUtsIpc) : addUtsIpc;
  return add(chrootSpec({ id: ctx.id, rootfs: ctx.rootfs, args: ['sleep', '3600'] }), `scr${ctx.id}`);
}

const REQUESTED: NamespaceKind[] = procKinds(containerSpec({ id: '', rootfs: '' }).linux.namespaces.map((n) => n.type));
const pidOr = (pid: number | undefined) => pid ?? '$PID';
const PS = ['ps', '-o', 'pid,ppid,args', '-p'];

export default defineLesson<State>({
  number: '02',
  title: 'UTS and IPC namespaces: a hostname and IPC of its own',
  summary:
    'Namespaces give a process its own copy of a kernel resource. We start the chrooted container of lesson 01 ' +
    'in a new UTS namespace (its own hostname) and a new IPC namespace (its own System V message queues), ' +
    'and check from the host that each side sees only its own.',
  docker: 'docker run -d --hostname NAME busybox sleep 3600   (--ipc private is the default)',
  needsRoot: true,
  needsRootfs: true,
  rootfsCommands: ['sh', 'sleep'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'Start the container under unshare',
      explain:
        'From this lesson on, a container is started in two parts. `unshare --uts --ipc` creates the new ' +
        'namespaces and runs a short init script inside them. The script sets the hostname — inside the new ' +
        'UTS namespace, so the host keeps its own — and then `exec`s the command through chroot: exec replaces ' +
        'the script with the command, so the command keeps the PID and its exit code is the container’s. ' +
        '`env -i` gives it a clean environment instead of the host’s. The rootfs and hostname are passed as ' +
        'parameters ($1, $2), never pasted into the script.',
      docker: 'docker run -d --hostname NAME busybox sleep 3600',
      commands: (ctx) => ({
        ...containerCommands(containerSpec(ctx), { executor: 'sh', background: true }),
        ps: [...PS, '$PID'],
      }),
      hint: 1,
      async run(ctx) {
        ctx.state.hostHostnameBefore = ownHostname();
        const spec = containerSpec(ctx);
        const c = await startContainer(ctx.runner, ctx.cleanup, spec, { executor: 'sh' });
        ctx.state.pid = c.hostPid;
        ctx.state.containerHostname = spec.hostname;
        const ps = await ctx.runner.run([...PS, String(c.hostPid)]);
        ctx.out.evidence('the container is an ordinary process to the host:', ps.stdout);
      },
    }),
    step({
      title: 'Two namespace links changed, the rest did not',
      explain:
        "Compare the container's namespace links with the lesson runner's (a host process). The uts and ipc " +
        'numbers differ: new namespaces. Everything else — mnt, pid, net — is still the host’s, so the ' +
        'container still sees the host’s mounts, processes and network. Later lessons change those.',
      commands: (ctx) => ({
        host: ['ls', '-l', '/proc/self/ns'],
        container: ['ls', '-l', `/proc/${pidOr(ctx.state.pid)}/ns`],
      }),
      async run(ctx, cmd) {
        const pid = ctx.state.pid ?? 0;
        // `ls -l` prints each link and its target, `uts -> uts:[4026532301]`: the inode is the namespace.
        ctx.state.hostNamespaces = parseNamespaceListing((await ctx.runner.run(cmd.host)).stdout);
        ctx.state.containerNamespaces = parseNamespaceListing((await ctx.runner.run(cmd.container)).stdout);
        const mark = (ns: NamespaceInodes, other: NamespaceInodes) =>
          formatNamespaces(ns)
            .split('\n')
            .map((l) => {
              const kind = l.split(' ')[0] as NamespaceKind;
              return ns[kind] !== other[kind] ? `${l}   ← new` : l;
            })
            .join('\n');
        ctx.out.compare(
          `namespace inodes: lesson runner (${process.pid}) vs container (${pid})`,
          formatNamespaces(ctx.state.hostNamespaces),
          mark(ctx.state.containerNamespaces, ctx.state.hostNamespaces),
        );
      },
    }),
    step({
      title: 'Its own hostname',
      explain:
        '`nsenter --target PID --uts` runs a command in the UTS namespace of the container, and only that one. ' +
        '`hostname` there prints what the init script set; on the host, the hostname has not changed. Renaming ' +
        'the container again, from inside, still leaves the host alone: each UTS namespace has its own copy.',
      docker: 'docker exec CONTAINER hostname',
      commands: (ctx) => {
        const inUts = nsenterArgv(pidOr(ctx.state.pid), ['uts']);
        return {
          host: ['hostname'],
          container: [...inUts, 'hostname'],
          rename: [...inUts, 'hostname', `scr${ctx.id}-renamed`],
        };
      },
      hint: 1,
      async run(ctx, cmd) {
        const pid = ctx.state.pid ?? 0;
        ctx.state.containerHostnameSeen = await readHostname(ctx.runner, pid);
        const host = await readHostname(ctx.runner);
        ctx.out.compare('hostname', host, ctx.state.containerHostnameSeen);
        // A container without a UTS namespace of its own (a spec that forgot it) is in the host's: `nsenter --uts`
        // would then rename this machine. Looked at from /proc, not trusted from the spec.
        const uts = readNamespaces(pid).uts;
        if (uts === undefined || uts === readNamespaces(process.pid).uts) {
          ctx.state.renameRefused = true;
          ctx.state.hostHostnameAfter = await readHostname(ctx.runner);
          ctx.out.warn(
            'The container shares the host’s UTS namespace (same uts inode): renaming it would rename this ' +
              'machine, so the lesson does not run the rename.',
          );
          return;
        }
        await ctx.runner.run(cmd.rename);
        ctx.state.renamedTo = `scr${ctx.id}-renamed`;
        ctx.state.containerHostnameAfterRename = await readHostname(ctx.runner, pid);
        ctx.state.hostHostnameAfter = await readHostname(ctx.runner);
        ctx.out.compare(
          'hostname, after renaming the container from inside',
          ctx.state.hostHostnameAfter,
          ctx.state.containerHostnameAfterRename,
        );
      },
    }),
    step({
      title: 'Its own System V IPC',
      explain:
        'Processes on one machine can share message queues, semaphores and shared memory segments (System V ' +
        'IPC) by key. A container must not reach the host’s, nor the host the container’s. We make one ' +
        'message queue on each side with `ipcmk -Q` and list queues on both sides with `ipcs -q`. Busybox has ' +
        'no ipcs, so the host’s tools are run inside the container’s IPC namespace only — enough, since that ' +
        'namespace is the whole isolation. Queue IDs start again at 0 in every namespace; the keys tell them ' +
        'apart. The container’s queue needs no cleanup: it goes when its namespace does.',
      docker: 'docker run --ipc private ...   (the default; --ipc host would share the host’s)',
      commands: (ctx) => {
        const inIpc = nsenterArgv(pidOr(ctx.state.pid), ['ipc']);
        return {
          hostMake: ['ipcmk', '-Q'],
          containerMake: [...inIpc, 'ipcmk', '-Q'],
          hostList: ['ipcs', '-q'],
          containerList: [...inIpc, 'ipcs', '-q'],
        };
      },
      async run(ctx, cmd) {
        const made = await ctx.runner.run(cmd.hostMake);
        const hostId = parseIpcmkId(made.stdout);
        if (hostId !== undefined) {
          ctx.cleanup.push(`remove host message queue ${hostId}`, () =>
            ctx.runner.run(['ipcrm', '-q', String(hostId)]),
          );
        }
        const madeInside = await ctx.runner.run(cmd.containerMake);
        const insideId = parseIpcmkId(madeInside.stdout);

        const hostList = await ctx.runner.run(cmd.hostList);
        const containerList = await ctx.runner.run(cmd.containerList);
        const hostQueues = parseIpcsQueues(hostList.stdout);
        const containerQueues = parseIpcsQueues(containerList.stdout);
        ctx.state.hostQueueKey = hostQueues.find((q) => q.id === hostId)?.key;
        ctx.state.containerQueueKey = containerQueues.find((q) => q.id === insideId)?.key;
        ctx.state.hostSees = hostQueues.map((q) => q.key);
        ctx.state.containerSees = containerQueues.map((q) => q.key);
        const table = (qs: typeof hostQueues) => ['key        msqid', ...qs.map((q) => `${q.key} ${q.id}`)].join('\n');
        ctx.out.compare('ipcs -q: message queues each side can see', table(hostQueues), table(containerQueues));
      },
    }),
  ],

  shell: (ctx) =>
    interactiveShell(
      containerSpec(ctx),
      'A shell in the same kind of container: chrooted, with its own hostname and IPC namespace. Try ' +
        '`hostname`, `hostname other` (then `hostname` on the host), and notice what is *not* isolated yet: ' +
        '`echo $$` prints this shell’s PID in the host’s numbering — `ps -p` with that number on the host ' +
        'finds it. Type `exit` to leave.',
      { executor: 'sh', runner: ctx.runner, cleanup: ctx.cleanup },
    ),

  checks: (s) => {
    const differs = differingNamespaces(s.hostNamespaces ?? {}, s.containerNamespaces ?? {});
    const compared = NAMESPACE_KINDS.filter(
      (k) => s.hostNamespaces?.[k] !== undefined && s.containerNamespaces?.[k] !== undefined,
    );
    return [
      {
        claim: 'the container has the hostname the init script gave it',
        ok: !!s.containerHostname && s.containerHostnameSeen === s.containerHostname,
        detail: s.containerHostnameSeen,
        expected: `hostname inside to print ${s.containerHostname ?? 'the name the spec gives it'}`,
        seen: `it printed ${s.containerHostnameSeen ?? 'nothing'}${
          s.containerHostnameSeen !== undefined && s.containerHostnameSeen === s.hostHostnameBefore
            ? ' — the host’s own name'
            : ''
        }`,
        hint: 1,
      },
      {
        claim: "the host's hostname did not change, not even when the container renamed itself",
        ok:
          !!s.hostHostnameBefore &&
          !s.renameRefused &&
          s.hostHostnameAfter === s.hostHostnameBefore &&
          s.containerHostnameAfterRename === s.renamedTo &&
          s.hostHostnameBefore !== s.containerHostnameSeen,
        detail: s.hostHostnameAfter,
        expected: `the host still ${s.hostHostnameBefore ?? '?'}, the container ${s.renamedTo ?? 'renamed'} after the rename`,
        seen: s.renameRefused
          ? 'no rename: the container is in the host’s UTS namespace'
          : `the host ${s.hostHostnameAfter ?? '?'}, the container ${s.containerHostnameAfterRename ?? '?'}`,
        hint: 1,
      },
      {
        claim: 'exactly the uts and ipc namespaces are new',
        ok: compared.length >= 6 && differs.join() === REQUESTED.join(),
        detail: `differs in ${differs.join(', ') || 'nothing'}`,
        expected: `new namespace links for ${REQUESTED.join(' and ')}, the host’s for the rest`,
        seen: `new links for ${differs.join(', ') || 'none'}`,
        hint: 1,
      },
      {
        claim: "the container's message queue is invisible on the host",
        ok: !!s.containerQueueKey && !s.hostSees?.includes(s.containerQueueKey),
        expected: `ipcs -q on the host without the container’s queue ${s.containerQueueKey ?? ''}`,
        seen: `the host lists ${s.hostSees?.join(' ') || 'no queue'}`,
        hint: 1,
      },
      {
        claim: "the host's message queue is invisible in the container",
        ok: !!s.hostQueueKey && !!s.containerSees && !s.containerSees.includes(s.hostQueueKey),
        expected: `ipcs -q in the container without the host’s queue ${s.hostQueueKey ?? ''}`,
        seen: `the container lists ${s.containerSees?.join(' ') || 'no queue'}`,
        hint: 1,
      },
    ];
  },

  exercise: {
    file: '02-uts-ipc.ts',
    functions: { addUtsIpc },
    solutionIn: ['lib/kit.ts'],
    contract:
      'write addUtsIpc(spec, hostname): the spec with new uts and ipc namespaces, that hostname, and HOSTNAME in its env.',
    hints: [
      'Three fields change: spec.linux.namespaces (two more entries), spec.hostname, and spec.process.env.',
      'Spread to copy: { ...spec, hostname, linux: { ...spec.linux, namespaces: [...spec.linux.namespaces, { type: "uts" }, …] } }.',
      'process: { ...spec.process, env: [...spec.process.env.filter((e) => !e.startsWith("HOSTNAME=")), `HOSTNAME=${hostname}`] }',
    ],
    minutes: 10,
    shape: { addUtsIpc: specShape('addUtsIpc') },
  },

  recap: {
    saw: [
      'A container is started by a generated init script run under unshare, which creates the namespaces.',
      'In its own UTS namespace the container has its own hostname; renaming it never touches the host.',
      'In its own IPC namespace it has its own System V queues: neither side sees the other’s.',
      "Only the namespaces asked for are new (uts, ipc); the container still shares the host's PIDs and mounts.",
    ],
    next:
      'Lesson 03 adds a PID namespace: the container’s command becomes PID 1, and a /proc mounted for it lists ' +
      'only its own processes.',
  },
});
