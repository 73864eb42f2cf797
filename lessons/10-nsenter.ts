/**
 * Lesson 10 — nsenter: into a running container.
 *
 * A container is held together by its first process: its namespaces, its cgroup, its root and its security
 * profile all hang off it. `docker exec` starts another process *inside* all of that. This lesson starts a
 * detached container with `ctr run -d` (the waiter keeps it running after the command returns), finds it in
 * `ctr ps` and its namespaces in `lsns`, and goes in twice. First with a plain `nsenter --target <pid>`: the
 * namespaces and the root, but the process stays in the host's cgroup (the container's limits do not apply to it)
 * and keeps the host root's full capability set. Then the way `ctr exec` does it — the cgroup at the sync point,
 * then the namespaces, then the container's own profile applied by the init in exec mode — and the host sees a
 * process indistinguishable from PID 1. Then `ctr logs`, `ctr stop` (SIGTERM, and SIGKILL once the grace period
 * is over, which a PID 1 that ignores SIGTERM needs) and `ctr rm`, after which nothing of it is left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBundle, PROJECT_ROOT } from '../lib/bundle.ts';
import { execInContainer } from '../lib/container/exec.ts';
import { execArgvFor, nsenterExecArgv } from '../lib/container/launch.ts';
import { cgroupOf } from '../lib/container/lifecycle.ts';
import { tsInitPaths } from '../lib/container/shown.ts';
import type { ContainerResult } from '../lib/container/start.ts';
import { readState, type ContainerState } from '../lib/container/state.ts';
import { psColumns } from '../lib/ctr/commands/ps.ts';
import { runRequest } from '../lib/ctr/run-spec.ts';
import { initPlan } from '../lib/init/plan.ts';
import { renderSyscalls } from '../lib/init/render-syscalls.ts';
import { defineLesson, step, type LessonContext } from '../lib/lesson.ts';
import { containerDir, stateDir } from '../lib/names.ts';
import { childrenOf } from '../lib/namespaces.ts';
import { netnsName, netnsPath } from '../lib/network/index.ts';
import { readCgroups, readNamespaces, type NamespaceKind } from '../lib/proc.ts';
import type { RunResult } from '../lib/runner.ts';
import type { ContainerSpec } from '../lib/spec.ts';

/** The container's PID 1: a shell that handles SIGTERM, leaves a file, and sleeps a second at a time. */
const APP = [
  'trap \'echo "app: SIGTERM, stopping"; exit 0\' TERM',
  'echo "made by PID 1" > /tmp/hello; echo "app: up"',
  'while :; do sleep 1 & wait $!; done',
].join('\n');
/** What an exec looks at from inside: the hostname, the processes, the network devices, the file PID 1 made. */
const LOOK = 'hostname; ps -o pid,comm; ls /sys/class/net; cat /tmp/hello';
/** The /proc/<pid>/status fields that say what a process may do. */
const PROFILE = ['CapPrm', 'CapEff', 'CapBnd', 'NoNewPrivs', 'Seccomp'];
const GREP_PROFILE = ['grep', '-E', `^(${PROFILE.join('|')}):`];
/** lsns, narrow enough for a projector: each namespace, how many processes are in it, and the lowest PID. */
const LSNS = ['lsns', '-o', 'NS,TYPE,NPROCS,PID', '-p'];
/** The columns of ctr ps that fit a projector. */
const PS_COLUMNS = ['CONTAINER ID', 'STATUS', 'NAMES'];
/** The grace period given to each `ctr stop`. */
const GRACE_S = 2;

interface Process {
  pid: number;
  ns: Partial<Record<NamespaceKind, number>>;
  cgroup: string;
  profile: Record<string, string>;
}

interface State {
  app?: ContainerState;
  stubborn?: ContainerState;
  ps?: string;
  lsns?: string;
  pid1?: Process;
  plain?: Process;
  exec?: Process & { result?: ContainerResult };
  look?: RunResult;
  logs?: string;
  stops?: { app: { ms: number; exitCode?: number }; stubborn: { ms: number; exitCode?: number } };
  badInput?: { stopped: RunResult; unknown: RunResult };
  removed?: string[];
}

/** Ids and names for this run: the container id is the run id and a counter (ctr wants ten hex digits). */
function names(ctx: LessonContext<State>) {
  return {
    app: { id: `${ctx.id}0001`, name: `app-${ctx.id}` },
    stubborn: { id: `${ctx.id}0002`, name: `stubborn-${ctx.id}` },
  };
}

/** `node bin/ctr.mjs …`, run from the checkout (`npm run ctr -- …` runs the same). */
const ctr = (...args: string[]) => ['node', 'bin/ctr.mjs', ...args];
/** ctr named after this run, so `npm run clean` finds what a killed run left. */
const ctrWithId = (id: string, ...args: string[]) => ['env', `SCRATCH_RUN_ID=${id}`, ...ctr(...args)];
const inRepo = { cwd: PROJECT_ROOT };

function runArgs(ctx: LessonContext<State>, which: 'app' | 'stubborn'): string[] {
  const n = names(ctx)[which];
  const common = ['run', '-d', '--name', n.name, '--network', 'none'];
  return which === 'app'
    ? ctrWithId(
        n.id,
        ...common,
        '--hostname',
        'app',
        '--memory',
        '64m',
        '--pids-limit',
        '50',
        ctx.rootfs,
        'sh',
        '-c',
        APP,
      )
    : ctrWithId(n.id, ...common, ctx.rootfs, 'sleep', '3600');
}

/**
 * The app container's spec: what ctr wrote into its state, or — before it exists, and in --explain — what ctr
 * will make of the same flags (the root and the network namespace are the parts ctr fills in).
 */
function appSpec(ctx: LessonContext<State>): ContainerSpec {
  if (ctx.state.app) return ctx.state.app.spec;
  const n = names(ctx).app;
  const req = runRequest(
    { name: n.name, network: 'none', hostname: 'app', memory: '64m', 'pids-limit': '50', detach: true },
    { kind: 'rootfs', image: ctx.rootfs, path: ctx.rootfs },
    ['sh', '-c', APP],
    { id: n.id },
  );
  const s = req.spec;
  return {
    ...s,
    root: { ...s.root, path: path.join(containerDir(n.id), 'rootfs') },
    linux: {
      ...s.linux,
      namespaces: [...s.linux.namespaces, { type: 'network', path: netnsPath(netnsName(n.id)) }],
    },
  };
}

const pidOf = (ctx: LessonContext<State>) => ctx.state.app?.pid;

/** What the host knows of a process: its namespaces, its cgroup (the memory line), its profile. */
function observe(pid: number): Process {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const profile = Object.fromEntries(
    PROFILE.map((f) => [f, new RegExp(`^${f}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '?']),
  );
  const mem = readCgroups(pid).find((l) => l.controllers.includes('memory') || l.hierarchy === 0);
  return { pid, ns: readNamespaces(pid), cgroup: mem?.path ?? '?', profile };
}

const NS_KINDS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as const;

/** Two processes field by field, as the host reads them: namespaces, profile, cgroup; `≠` where they differ. */
function sideBySide(a: Process, b: Process, names: [string, string]): string {
  const row = (field: string, x: string, y: string, mark = x !== y) =>
    `${field.padEnd(12)}${x.padEnd(19)}${y.padEnd(19)}${mark ? '≠' : ''}`.trimEnd();
  return [
    row('', names[0], names[1], false),
    ...NS_KINDS.map((k) => row(`${k} ns`, String(a.ns[k] ?? '?'), String(b.ns[k] ?? '?'))),
    ...PROFILE.map((f) => row(f, a.profile[f] ?? '?', b.profile[f] ?? '?')),
    `cgroup      ${a.cgroup}`,
    `${a.cgroup === b.cgroup ? '            ' : '≠ cgroup    '}${b.cgroup}`,
  ].join('\n');
}

const sameNamespaces = (a?: Process, b?: Process) => !!a && !!b && NS_KINDS.every((k) => a.ns[k] === b.ns[k]);
/** What tells two processes apart: the namespaces, cgroup and profile fields in which `b` differs from `a`. */
function differences(a?: Process, b?: Process): string[] {
  if (!a || !b) return ['no exec to compare'];
  return [
    ...NS_KINDS.filter((k) => a.ns[k] !== b.ns[k]).map((k) => `${k} namespace`),
    ...(a.cgroup === b.cgroup ? [] : [`cgroup ${b.cgroup}`]),
    ...PROFILE.filter((f) => a.profile[f] !== b.profile[f]),
  ];
}
const sameProfile = (a?: Process, b?: Process) => !!a && !!b && PROFILE.every((f) => a.profile[f] === b.profile[f]);

/** Run a ctr command, timing it. */
async function timed(ctx: LessonContext<State>, argv: string[]): Promise<{ r: RunResult; ms: number }> {
  const t = Date.now();
  const r = await ctx.runner.run(argv, { ...inRepo, reject: false });
  return { r, ms: Date.now() - t };
}

/** The exec the lesson does by hand: the init's plan in exec mode, as the system calls it makes. */
function execListing(spec: ContainerSpec, pid: number | undefined, args: string[]): string {
  const plan = initPlan(spec, { mode: 'exec', targetPid: pid ?? 0, args });
  const text = renderSyscalls(plan);
  return pid === undefined ? text.replaceAll('/proc/0/root', '/proc/$PID/root') : text;
}

/**
 * The exercise's argv is run as root, so only one of the form the init needs is: env -i, nsenter with namespace
 * flags of the container's PID, the host's root, then this checkout's node and init bundle.
 */
function nsenterInitShape(v: unknown): string | undefined {
  const bad = 'execArgvFor must return env -i nsenter --target PID <namespace flags> --root=/ --wd=/ -- NODE BUNDLE';
  if (!Array.isArray(v) || !v.every((w) => typeof w === 'string')) return bad;
  const words = v as string[];
  const [env, i, nsenter, target, pid, ...rest] = words;
  if (env !== 'env' || i !== '-i' || nsenter !== 'nsenter' || target !== '--target' || !/^(\d+|\$PID)$/.test(pid ?? ''))
    return bad;
  const dashes = rest.indexOf('--');
  const flags = rest.slice(0, dashes);
  const allowed = /^--(user|cgroup|ipc|uts|net|pid|mount|root=\/|wd=\/)$/;
  const init = tsInitPaths();
  const after = rest.slice(dashes + 1);
  if (dashes < 0 || !flags.every((f) => allowed.test(f)) || after.length !== 2) return bad;
  if (after[0] !== init.node || after[1] !== init.bundle) return `${bad}: NODE is ${init.node}, BUNDLE ${init.bundle}`;
  return undefined;
}

export default defineLesson<State>({
  number: '10',
  title: 'nsenter: into a running container',
  summary:
    'A detached container, then two ways in: plain nsenter (its namespaces and root, but not its cgroup nor ' +
    'its capabilities) and exec the way ctr does it (cgroup, namespaces, then its profile). Then logs, stop ' +
    '(SIGTERM, then SIGKILL after the grace period) and rm, after which nothing is left.',
  docker: 'docker run -d --name app busybox ...; docker exec app sh; docker logs app; docker stop app; docker rm app',
  needsRoot: true,
  needsRootfs: true,
  rootfsCommands: ['sh', 'sleep', 'hostname', 'ps', 'ls', 'cat'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'A detached container: ctr run -d, ctr ps, lsns',
      explain:
        '`ctr run -d` starts the container and returns at once: a small waiter process (`ctr __shim`, like ' +
        'containerd-shim) stays behind as the container’s parent, records its exit, and sends its output to a ' +
        'log file. Its PID 1 is a shell that leaves a file in /tmp, sleeps, and — unlike most — handles SIGTERM. ' +
        'ctr ps reads the state files under /run/scratch; lsns lists the namespaces the PID 1 is in — all but the ' +
        'user namespace are its own.',
      docker: 'docker run -d --name app --memory 64m --pids-limit 50 --network none busybox sh -c "..."',
      commands: (ctx) => ({
        run: runArgs(ctx, 'app'),
        ps: ctr('ps'),
        pid: { shell: `PID=$(node bin/ctr.mjs inspect ${names(ctx).app.name} | grep -m1 '"pid":' | tr -dc 0-9)` },
        lsns: [...LSNS, String(pidOf(ctx) ?? '$PID')],
      }),
      async run(ctx, cmd) {
        const n = names(ctx).app;
        ctx.cleanup.push(`remove container ${n.name}`, async () => {
          await ctx.runner.run(ctr('rm', '-f', n.name), { ...inRepo, reject: false });
        });
        const started = await ctx.runner.run(cmd.run as string[], inRepo);
        const app = readState(n.id);
        if (!app?.pid) throw new Error(`ctr run -d printed ${started.stdout} but left no running state`);
        ctx.state.app = app;
        const ps = await ctx.runner.run(cmd.ps as string[], inRepo);
        const lsns = await ctx.runner.run([...LSNS, String(app.pid)]);
        ctx.state.ps = ps.stdout;
        ctx.state.lsns = lsns.stdout;
        ctx.state.pid1 = observe(app.pid);
        ctx.out.evidence(`ctr run -d printed the container’s id; its PID 1 on the host is ${app.pid}`, started.stdout);
        ctx.out.evidence('ctr ps (its id, status and name)', psColumns(ps.stdout, PS_COLUMNS));
        ctx.out.evidence('lsns -p: the namespaces of its PID 1', lsns.stdout);
      },
    }),

    step({
      title: 'Plain nsenter: its namespaces and root, not its cgroup, not its profile',
      explain:
        'nsenter opens /proc/<pid>/ns/* of the container’s PID 1, calls setns(2) on each, takes its root ' +
        '(--root) and working directory (--wd), and forks, since joining a PID namespace only places children ' +
        'in it. That is all it does. The process it starts is in the container’s namespaces, but in the cgroup ' +
        'nsenter was started from — the 64 MiB and 50-process limits do not apply to it — and it holds every ' +
        'capability the host’s root has, without the container’s seccomp filter.',
      docker: '(docker has no plain-nsenter mode: docker exec does the next step)',
      commands: (ctx) => {
        const pid = pidOf(ctx);
        const spec = appSpec(ctx);
        const plain = ctx.state.plain?.pid;
        return {
          enter: { bg: nsenterExecArgv(spec, pid ?? '$PID', ['sleep', '30']) },
          plainPid: { shell: 'PLAIN=$(pgrep -P $!)   # nsenter forked it' },
          cgroups: ['cat', `/proc/${pid ?? '$PID'}/cgroup`, `/proc/${plain ?? '$PLAIN'}/cgroup`],
          status: [...GREP_PROFILE, `/proc/${pid ?? '$PID'}/status`, `/proc/${plain ?? '$PLAIN'}/status`],
          stop: { op: { kind: 'kill', pid: plain ?? '$PLAIN', signal: 'SIGKILL' } },
        };
      },
      async run(ctx, cmd) {
        const app = ctx.state.app!;
        const proc = ctx.runner.start((cmd.enter as { bg: string[] }).bg);
        ctx.cleanup.push(`stop the plain nsenter (PID ${proc.pid})`, async () => {
          proc.kill('SIGKILL');
          await proc.wait();
        });
        let plain: number | undefined;
        for (let i = 0; i < 500 && plain === undefined; i++) {
          plain = childrenOf(proc.pid).find((c) => fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith('sleep'));
          if (plain === undefined) await new Promise((r) => setTimeout(r, 10));
        }
        if (plain === undefined) throw new Error('nsenter did not start its sleep');
        ctx.state.plain = observe(plain);
        const pids = `/proc/${app.pid}`;
        await ctx.runner.run(['cat', `${pids}/cgroup`, `/proc/${plain}/cgroup`]);
        await ctx.runner.run([...GREP_PROFILE, `${pids}/status`, `/proc/${plain}/status`], { reject: false });
        ctx.out.evidence(
          'the container’s PID 1, and what plain nsenter started, as the host sees them',
          sideBySide(ctx.state.pid1!, ctx.state.plain, [`PID 1 (${app.pid})`, `nsenter'd (${plain})`]),
        );
        ctx.runner.apply({ kind: 'kill', pid: plain, signal: 'SIGKILL' });
        await proc.wait();
      },
    }),

    step({
      title: 'Exec as ctr does it: the cgroup, the namespaces, then the profile',
      hint: 2,
      explain:
        'ctr exec closes both gaps, in an order that matters. nsenter joins every namespace of PID 1 — the user ' +
        'namespace first when there is one (it grants the right to join the rest), the mount namespace last — ' +
        'but keeps the host’s root for now, so the host’s node can start the init. The init says where it is, ' +
        'and the host writes its PID into the container’s cgroup.procs before anything else runs: from then on ' +
        'every page and process it makes counts against the limits. Then the init, in exec mode, enters the ' +
        'container’s root through /proc/<pid>/root and applies PID 1’s profile: bounding set, capabilities, ' +
        'no_new_privs, seccomp; then it execs the command. From the host, nothing tells the two apart.',
      docker: 'docker exec app sleep 30',
      commands: (ctx) => {
        const pid = pidOf(ctx);
        const spec = appSpec(ctx);
        const procs = cgroupOf(ctx.state.app?.id ?? names(ctx).app.id).procsFiles;
        const exec = ctx.state.exec?.pid;
        return {
          start: { bg: ctx.use(execArgvFor)(spec, pid ?? '$PID', tsInitPaths()) },
          execPid: { shell: 'EXEC=$(pgrep -P $!)   # nsenter forked the init; it waits for the host' },
          ...Object.fromEntries(
            procs.map((f, i) => [
              `cgroup${i}`,
              { op: { kind: 'write', path: f, value: exec ? String(exec) : '$EXEC' } },
            ]),
          ),
          plan: {
            shell: `# then the init, in exec mode:\n${execListing(spec, pid, ['sleep', '30'])}`,
          },
          status: [...GREP_PROFILE, `/proc/${pid ?? '$PID'}/status`, `/proc/${exec ?? '$EXEC'}/status`],
          stop: { op: { kind: 'kill', pid: exec ?? '$EXEC', signal: 'SIGKILL' } },
        };
      },
      async run(ctx, cmd) {
        const app = ctx.state.app!;
        const init = await initBundle();
        let seen: Process | undefined;
        const result = await execInContainer(ctx.runner, ctx.cleanup, app.spec, app.pid!, ['sleep', '30'], {
          init,
          procsFiles: cgroupOf(app.id).procsFiles,
          argv: (cmd.start as { bg: string[] }).bg,
          started: async (pid) => {
            seen = observe(pid);
            await ctx.runner.run([...GREP_PROFILE, `/proc/${app.pid}/status`, `/proc/${pid}/status`], {
              reject: false,
            });
            ctx.runner.apply({ kind: 'kill', pid, signal: 'SIGKILL' });
          },
        });
        if (!seen) throw new Error('the exec did not start');
        ctx.state.exec = { ...seen, result };
        ctx.out.evidence(
          'the container’s PID 1, and the exec’d process, as the host sees them',
          sideBySide(ctx.state.pid1!, seen, [`PID 1 (${app.pid})`, `exec'd (${seen.pid})`]),
        );
      },
    }),

    step({
      title: 'ctr exec: the container’s hostname, processes, network and files',
      explain:
        'The same thing as one command. Inside, the exec’d shell sees what PID 1 sees: the hostname `app`, the ' +
        'container’s processes (PID 1 is its shell), its network namespace — only `lo`, where the host has its ' +
        'own devices — and the file PID 1 wrote in its /tmp, which on the host is in its overlay’s upper dir.',
      docker: 'docker exec app sh -c "hostname; ps; ls /sys/class/net; cat /tmp/hello"',
      commands: (ctx) => ({ exec: ctr('exec', names(ctx).app.name, 'sh', '-c', LOOK) }),
      async run(ctx, cmd) {
        const look = await ctx.runner.run(cmd.exec as string[], { ...inRepo, reject: false });
        ctx.state.look = look;
        ctx.out.evidence('ctr exec app sh -c "…", inside:', look.stdout || look.stderr);
      },
    }),

    step({
      title: 'ctr stop: SIGTERM, then SIGKILL after the grace period',
      explain:
        '`ctr stop` sends SIGTERM to PID 1 and waits; what is still running after the grace period gets SIGKILL. ' +
        'The app container’s shell traps SIGTERM and exits at once, status 0. A second ' +
        'container runs `sleep` as PID 1 — and the kernel does not deliver a signal to a namespace’s init that ' +
        'has no handler for it: SIGTERM is simply ignored, and only the SIGKILL after the grace period ends it ' +
        '(137 = 128 + 9). That is why the grace period exists. Afterwards, exec into the stopped container, or ' +
        'into one that does not exist, is one line saying so.',
      docker: 'docker stop -t 2 app stubborn; docker ps -a',
      commands: (ctx) => {
        const n = names(ctx);
        return {
          stubborn: runArgs(ctx, 'stubborn'),
          stopWeb: ctr('stop', '-t', String(GRACE_S), n.app.name),
          stopStubborn: ctr('stop', '-t', String(GRACE_S), n.stubborn.name),
          ps: ctr('ps', '-a'),
          stopped: ctr('exec', n.app.name, 'true'),
          unknown: ctr('exec', `no-such-${ctx.id}`, 'true'),
        };
      },
      async run(ctx, cmd) {
        const n = names(ctx);
        ctx.cleanup.push(`remove container ${n.stubborn.name}`, async () => {
          await ctx.runner.run(ctr('rm', '-f', n.stubborn.name), { ...inRepo, reject: false });
        });
        await ctx.runner.run(cmd.stubborn as string[], inRepo);
        ctx.state.stubborn = readState(n.stubborn.id);
        const app = await timed(ctx, cmd.stopWeb as string[]);
        const stubborn = await timed(ctx, cmd.stopStubborn as string[]);
        ctx.state.stops = {
          app: { ms: app.ms, exitCode: readState(n.app.id)?.exitCode },
          stubborn: { ms: stubborn.ms, exitCode: readState(n.stubborn.id)?.exitCode },
        };
        const ps = await ctx.runner.run(cmd.ps as string[], inRepo);
        const stopped = await ctx.runner.run(cmd.stopped as string[], { ...inRepo, reject: false });
        const unknown = await ctx.runner.run(cmd.unknown as string[], { ...inRepo, reject: false });
        ctx.state.badInput = { stopped, unknown };
        const s = ctx.state.stops;
        ctx.out.evidence(
          `ctr stop -t ${GRACE_S}, timed`,
          [
            `${n.app.name}: ${(s.app.ms / 1000).toFixed(1)} s, exit ${s.app.exitCode} (it handled SIGTERM)`,
            `${n.stubborn.name}: ${(s.stubborn.ms / 1000).toFixed(1)} s, exit ${s.stubborn.exitCode} ` +
              '(SIGTERM ignored, SIGKILL after the grace period)',
          ].join('\n'),
        );
        ctx.out.evidence('ctr ps -a (ids, statuses and names)', psColumns(ps.stdout, PS_COLUMNS));
        ctx.out.evidence(
          'exec into the stopped container, and into one that does not exist',
          `${stopped.stderr.trim()} (exit ${stopped.exitCode})\n${unknown.stderr.trim()} (exit ${unknown.exitCode})`,
        );
      },
    }),

    step({
      title: 'ctr logs: what the detached container printed',
      explain:
        'Nobody was attached to the container’s output: the waiter sent it to /run/scratch/<id>/container.log, ' +
        'and `ctr logs` prints that file — the line from when it started, and the one its SIGTERM handler wrote.',
      docker: 'docker logs app',
      commands: (ctx) => ({ logs: ctr('logs', names(ctx).app.name) }),
      async run(ctx, cmd) {
        const logs = await ctx.runner.run(cmd.logs as string[], inRepo);
        ctx.state.logs = logs.stdout;
        ctx.out.evidence('ctr logs', logs.stdout);
      },
    }),

    step({
      title: 'ctr rm: nothing left',
      explain:
        'A stopped container keeps its state, its log and its own directory (its overlay’s upper dir, where its ' +
        'writes are) until `ctr rm`; its cgroup and network namespace went when it stopped. After rm, the host ' +
        'has nothing of either container: no state, no cgroup, no network namespace, no directory, no mount.',
      docker: 'docker rm app stubborn',
      commands: (ctx) => {
        const n = names(ctx);
        const ids = [n.app.id, n.stubborn.id];
        return {
          rm: ctr('rm', n.app.name, n.stubborn.name),
          ls: [
            'ls',
            '-d',
            ...ids.flatMap((id) => [stateDir(id), containerDir(id)]),
            ...ids.map((id) => netnsPath(netnsName(id))),
          ],
        };
      },
      async run(ctx, cmd) {
        const n = names(ctx);
        await ctx.runner.run(cmd.rm as string[], inRepo);
        const ls = await ctx.runner.run(cmd.ls as string[], { reject: false });
        const ids = [n.app.id, n.stubborn.id];
        const cgroups = ids.flatMap((id) => cgroupOf(id).dirs);
        const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
        ctx.state.removed = [
          ...ids.flatMap((id) => [stateDir(id), containerDir(id), netnsPath(netnsName(id))]),
          ...cgroups,
        ].filter((p) => fs.existsSync(p));
        if (ids.some((id) => mounts.includes(id))) ctx.state.removed.push('a mount');
        ctx.out.evidence('ls -d on what the two containers had on the host:', ls.stderr || ls.stdout);
      },
    }),
  ],

  shell: (ctx) => ({
    explain:
      'A container of your own, removed when you leave it. From a second terminal on the host, try ' +
      '`npm run ctr -- ps`, `npm run ctr -- exec -it <id> sh`, and `nsenter --target <pid> --all sh` to compare ' +
      '`cat /proc/self/status | grep Cap` in both. Type `exit` to leave.',
    argv: [
      'node',
      path.join(PROJECT_ROOT, 'bin', 'ctr.mjs'),
      'run',
      '--rm',
      '-it',
      '--network',
      'none',
      ctx.rootfs,
      'sh',
    ],
  }),

  checks: (s) => {
    const stops = s.stops;
    return [
      {
        claim: 'ctr run -d left the container running; ctr ps listed it and lsns showed its namespaces',
        ok:
          s.app?.status === 'running' &&
          !!s.ps?.includes(s.app.id) &&
          !!s.lsns &&
          ['pid', 'mnt', 'uts', 'ipc', 'net'].every((k) => new RegExp(`\\b${k}\\b`).test(s.lsns ?? '')),
      },
      {
        claim: 'plain nsenter joined PID 1’s namespaces, but not its cgroup, and kept the host root’s capabilities',
        ok:
          sameNamespaces(s.pid1, s.plain) &&
          !!s.plain &&
          s.plain.cgroup !== s.pid1?.cgroup &&
          s.plain.profile.CapEff !== s.pid1?.profile.CapEff &&
          s.plain.profile.Seccomp === '0',
        detail: s.plain ? `cgroup ${s.plain.cgroup}, CapEff ${s.plain.profile.CapEff}` : undefined,
      },
      {
        claim: 'the exec had the same namespaces, cgroup, capability sets, no_new_privs and seccomp as PID 1',
        ok: sameNamespaces(s.pid1, s.exec) && s.exec?.cgroup === s.pid1?.cgroup && sameProfile(s.pid1, s.exec),
        detail: s.exec ? `cgroup ${s.exec.cgroup}, CapEff ${s.exec.profile.CapEff}` : undefined,
        expected: 'nothing to tell the exec from PID 1 in /proc/<pid>/ns, /proc/<pid>/cgroup and /proc/<pid>/status',
        seen: `the exec differs in ${differences(s.pid1, s.exec).join(', ') || 'nothing'}`,
        hint: 1,
      },
      {
        claim: 'ctr exec saw the container’s hostname, processes, network and files',
        ok:
          !!s.look &&
          s.look.exitCode === 0 &&
          /^app$/m.test(s.look.stdout) &&
          /^\s*1 sh$/m.test(s.look.stdout) &&
          /^lo$/m.test(s.look.stdout) &&
          !/^(eth|ens|enp|wl|scr)\w*$/m.test(s.look.stdout) &&
          /made by PID 1/.test(s.look.stdout),
      },
      {
        claim: `ctr stop: the PID 1 that handles SIGTERM exited at once; the one that ignores it died after ${GRACE_S} s (137)`,
        ok:
          !!stops &&
          stops.app.exitCode === 0 &&
          stops.app.ms < GRACE_S * 1000 &&
          stops.stubborn.exitCode === 137 &&
          stops.stubborn.ms >= GRACE_S * 1000,
        detail: stops ? `${stops.app.ms} ms and ${stops.stubborn.ms} ms` : undefined,
      },
      {
        claim: 'exec into a stopped or an unknown container: one line each, exit 125',
        ok:
          !!s.badInput &&
          [s.badInput.stopped, s.badInput.unknown].every(
            (r) => r.exitCode === 125 && r.stderr.trim().split('\n').length === 1,
          ) &&
          /is not running/.test(s.badInput.stopped.stderr) &&
          /no such container/.test(s.badInput.unknown.stderr),
      },
      {
        claim: 'ctr logs showed what the container printed, its SIGTERM handler’s line included',
        ok: !!s.logs && /app: up/.test(s.logs) && /app: SIGTERM, stopping/.test(s.logs),
      },
      {
        claim: 'after ctr rm, nothing of either container is on the host',
        ok: !!s.removed && s.removed.length === 0,
        detail: s.removed?.join(', '),
      },
    ];
  },

  exercise: {
    file: '10-nsenter.ts',
    functions: { execArgvFor },
    solutionIn: ['lib/container/launch.ts'],
    contract:
      'write execArgvFor(spec, targetPid, init): the nsenter argv that starts the init in every namespace of the ' +
      "container's first process, on the host's root, for the init to finish the job.",
    hints: [
      'The flags come from spec.linux.namespaces.map((n) => n.type); network is --net, mount is --mount.',
      'Order them as the doc comment says: filter ["user", "cgroup", "ipc", "uts", "network", "pid", "mount"] by the types the spec has.',
      "['env', '-i', 'nsenter', '--target', String(targetPid), ...flags, '--root=/', '--wd=/', '--', init.node, init.bundle]",
    ],
    minutes: 12,
    shape: { execArgvFor: nsenterInitShape },
  },

  recap: {
    saw: [
      'A container is its first process: /proc/<pid>/ns, its cgroup and its root are all you need to go in.',
      'nsenter joins namespaces and the root, and nothing else: no cgroup, and the caller’s privileges.',
      'An exec done right joins the cgroup before it runs anything, then the namespaces, then takes PID 1’s ' +
        'capabilities, no_new_privs and seccomp filter.',
      'stop is SIGTERM, then SIGKILL: a PID 1 without a handler ignores SIGTERM, so the grace period runs out.',
      'A detached container’s output goes to a log; rm takes its state, directory, cgroup and network away.',
    ],
    next:
      'Lesson 11 hardens the container step by step — capabilities, no_new_privs, masked paths, a read-only ' +
      'root, seccomp — and shows an attack working before and failing after each.',
  },
});
