/**
 * Lesson 00 — a container is a process.
 *
 * Before building anything, look at what the kernel already gives every process: a set of namespaces (each a
 * link in /proc/<pid>/ns) and a place in the cgroup tree. A container is nothing more than a process whose
 * links point somewhere else. This lesson starts an ordinary process and reads those links from the host.
 */
import { defineLesson, step } from '../lib/lesson.ts';
import { startBackground } from '../lib/processes.ts';
import { NAMESPACE_KINDS, readCgroups, readNamespaces, type NamespaceKind } from '../lib/proc.ts';

interface State {
  pid?: number;
  namespaces?: Partial<Record<NamespaceKind, number>>;
  runnerNamespaces?: Partial<Record<NamespaceKind, number>>;
  cgroups?: string[];
  psLine?: string;
}

const placeholder = (pid: number | undefined) => (pid ? String(pid) : '$PID');
const PS = ['ps', '-o', 'pid,ppid,user,stat,cmd', '-p'];

export default defineLesson<State>({
  number: '00',
  title: 'A container is a process',
  summary:
    'There is no "container" object in the Linux kernel. There are processes, and each process has a set of ' +
    'namespaces and a cgroup. Here we start an ordinary process and look at those from the host.',
  docker: 'docker run = start a process + give it its own namespaces, cgroup and root filesystem',
  needsRoot: true,
  needsRootfs: false,
  initialState: () => ({}),

  steps: [
    step({
      title: 'Start an ordinary process',
      explain:
        'We start `sleep 300` in the background, exactly as a shell would. It gets a PID from the host (the ' +
        'shell keeps it in `$!`; we keep it in $PID) and inherits everything from its parent: namespaces, ' +
        'cgroup, root directory, user.',
      commands: () => ({
        sleep: { bg: ['sleep', '300'] },
        pid: { shell: 'PID=$!' },
        ps: [...PS, '$PID'],
      }),
      async run(ctx) {
        const proc = startBackground(ctx.runner, ctx.cleanup, ['sleep', '300']);
        ctx.state.pid = proc.pid;
        const ps = await ctx.runner.run([...PS, String(proc.pid)]);
        ctx.state.psLine = ps.stdout.split('\n')[1]?.trim();
        ctx.out.evidence('ps on the host sees it like any other process:', ps.stdout);
      },
    }),
    step({
      title: 'Read its namespaces',
      explain:
        'Every process has one link per namespace kind in /proc/<pid>/ns. The number in brackets identifies ' +
        'the namespace. Our sleep shares every one of them with the lesson runner that started it: same ' +
        'numbers, same hostname, same PIDs, same mounts, same network. That is what "not a container" means.',
      docker: 'docker inspect --format "{{.State.Pid}}" CONTAINER   # then ls -l /proc/<that pid>/ns',
      commands: (ctx) => ({ ls: ['ls', '-l', `/proc/${placeholder(ctx.state.pid)}/ns`] }),
      async run(ctx, cmd) {
        const pid = ctx.state.pid ?? 0;
        const ls = await ctx.runner.run(cmd.ls);
        ctx.out.evidence(`ls -l /proc/${pid}/ns`, ls.stdout);
        ctx.state.namespaces = readNamespaces(pid);
        ctx.state.runnerNamespaces = readNamespaces('self');
        const table = (ns: Partial<Record<NamespaceKind, number>>) =>
          NAMESPACE_KINDS.filter((k) => ns[k] !== undefined)
            .map((k) => `${k.padEnd(7)}${ns[k]}`)
            .join('\n');
        ctx.out.line();
        ctx.out.compare(
          'namespace inodes: the lesson runner (host) vs the sleep',
          table(ctx.state.runnerNamespaces),
          table(ctx.state.namespaces),
        );
      },
    }),
    step({
      title: 'Read its cgroup',
      explain:
        'The cgroup line says where the process sits in the resource-control tree. It is the same as its ' +
        "parent's: no limits of its own yet. Lesson 05 gives the container a cgroup with memory, PID and CPU limits.",
      docker: 'docker run --memory 64m --pids-limit 20 --cpus 0.5 ...',
      commands: (ctx) => ({ cgroup: ['cat', `/proc/${placeholder(ctx.state.pid)}/cgroup`] }),
      async run(ctx, cmd) {
        const out = await ctx.runner.run(cmd.cgroup);
        ctx.state.cgroups = readCgroups(ctx.state.pid ?? 0).map((c) => c.path);
        ctx.out.evidence(`cat /proc/${ctx.state.pid}/cgroup`, out.stdout);
      },
    }),
  ],

  checks: (s) => {
    const ns = s.namespaces ?? {};
    const mine = s.runnerNamespaces ?? {};
    const kinds = NAMESPACE_KINDS.filter((k) => ns[k] !== undefined);
    const differing = kinds.filter((k) => ns[k] !== mine[k]);
    return [
      { claim: 'the process has a host PID that ps can see', ok: !!s.pid && !!s.psLine?.startsWith(String(s.pid)) },
      {
        claim: 'it shares every namespace with the process that started it',
        ok: kinds.length >= 6 && differing.length === 0,
        detail: differing.length ? `differs in ${differing.join(', ')}` : `${kinds.length} namespaces compared`,
      },
      { claim: 'it has a place in the cgroup tree', ok: (s.cgroups?.length ?? 0) > 0 },
    ];
  },

  recap: {
    saw: [
      'A process is described to the kernel by its namespaces (/proc/<pid>/ns) and its cgroup (/proc/<pid>/cgroup).',
      'An ordinary process shares all of them with its parent, so it sees the same hostname, PIDs, mounts and network.',
      'docker run starts a process too; the difference is only in those links, its root directory and its limits.',
    ],
    next: 'Lesson 01 gives a process its own root directory with chroot, and shows why that alone is not isolation.',
  },
});
