/**
 * Lesson 05 — cgroups: memory, pids and CPU limits.
 *
 * Namespaces decide what a container can *see*; nothing so far limits what it can *use*. A process inside can
 * still eat all the memory, fork until the host's process table is full, or spin every CPU. Control groups are
 * the kernel's answer: a directory under /sys/fs/cgroup with limit files in it, and the container's processes
 * listed in its cgroup.procs. Here we make one for the container, with docker's `--memory 32m --pids-limit 20
 * --cpus 0.2`, and then misbehave on purpose inside it — allocate too much, fork too much, spin — and read the
 * kernel's counters from the host each time. It works on cgroup v1 (one tree per controller) and v2 (one tree).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  CONTROLLERS,
  createCgroup,
  evidenceFiles,
  formatBytes,
  hostDirsOf,
  layoutToShow,
  layoutVersion,
  measureCpu,
  parseLimits,
  planCgroup,
  showFilesArgv,
  hostOpOf,
  waitForStats,
  Cgroup as CgroupGroup,
  withoutDirs,
  type Cgroup,
  type CgroupVersion,
  type CpuMeasurement,
  type MemoryStats,
  type PidsStats,
} from '../lib/cgroups/index.ts';
import { v1LimitWrites } from '../lib/cgroups/v1.ts';
import { v2LimitWrites } from '../lib/cgroups/v2.ts';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { CheckFailed, listOf } from '../lib/exercise.ts';
import { containerCommands, interactiveShell, launchOf } from '../lib/container/shown.ts';
import { runContainer, startContainer, type Container } from '../lib/container/start.ts';
import { build, isolatedSpec, withCgroup } from '../lib/kit.ts';
import { defineLesson, step, type LessonContext, type Shown } from '../lib/lesson.ts';
import type { ContainerSpec } from '../lib/spec.ts';
import { describeCgroupHost } from '../lib/preflight.ts';

/** The limits, as a user writes them; the same strings docker takes. */
const LIMITS = { memory: '32m', memorySwap: '32m', pids: '20', cpus: '0.2' };
const DOCKER_LIMITS = `--memory ${LIMITS.memory} --memory-swap ${LIMITS.memorySwap} --pids-limit ${LIMITS.pids} --cpus ${LIMITS.cpus}`;
const limits = parseLimits(LIMITS);
/**
 * Made with the cgroup: memory and pids. The CPU quota is written later, on the running busy loop (docker update),
 * so the loop can be seen before and after — and so the containers' own start-up, a few dozen commands in the init
 * script, is not slowed to a fifth of a CPU.
 */
const { cpu: cpuLimit, ...createLimits } = limits;
const CPU_QUOTA = cpuLimit?.cpus ?? 0;
/** How long the host watches the loop before the quota: enough to see it take a whole CPU. */
const CPU_BEFORE_MS = 1500;
/** How long the host watches the busy loop: long enough for dozens of 100 ms periods. */
const CPU_WINDOW_MS = 3000;

/** Allocates twice the memory limit in one go: dd's 64 MiB buffer, filled from /dev/zero. */
const MEMORY_HOG = 'dd if=/dev/zero of=/dev/null bs=64M count=1; echo "dd exit status: $?"';
/**
 * A bounded fork bomb: a loop that tries to start 100 processes at once. A shell whose fork is refused gives up,
 * so it runs in a subshell; the sleeps hold their PIDs while the host looks, then PID 1's last `sleep` ends the
 * container, and with it (PID namespace) every process in it.
 */
const FORK_BOMB = [
  '( i=0; while [ $i -lt 100 ]; do',
  '    sleep 30 </dev/null >/dev/null 2>&1 & i=$((i+1))',
  '  done; echo "all 100 started" )',
  'echo "the fork loop ended with status $?"; exec sleep 3',
].join('\n');
const BUSY_LOOP = 'while :; do :; done';
/** A fork on the host, while the fork bomb holds every PID its cgroup allows: proof the host is unaffected. */
const HOST_FORK = ['sh', '-c', 'sleep 0 & echo "the host forked: PID $!"; wait'];
/** The kernel log, where the OOM killer reports each kill with the cgroup it happened in. */
const KERNEL_LOG = ['dmesg'];

interface State {
  version?: CgroupVersion;
  /** The run's cgroup: made in step 2, read by every later step. */
  cgroup?: Cgroup;
  dirs?: string[];
  notes?: string[];
  /** Step 3–4: a sleeping container, seen from the host and from inside. */
  sleeper?: Container;
  sleeperPid?: number;
  procsListedIt?: boolean;
  hostView?: string;
  containerView?: string;
  procsAfterStop?: number;
  memory?: { output: string; killed: boolean; stats?: MemoryStats; kernelLog?: string[] };
  pids?: { output: string; stats?: PidsStats; sawRefusal: boolean; hostCouldFork: boolean };
  cpu?: { before?: CpuMeasurement; measured?: CpuMeasurement; container?: Container };
  removed?: { dirsLeft: string[] };
  /** Step 2: the limit files as the kernel reads them back, and whether they hold the values asked for. */
  readBack?: { expected: string; seen: string; ok: boolean };
}

/**
 * The memory and pids limits as the kernel reads them back, from whichever of v1's and v2's files this cgroup
 * has: what the writes really did (a value in the wrong unit, or in a file of the other version, shows here).
 */
function readBackLimits(dirs: readonly string[]): { expected: string; seen: string; ok: boolean } {
  const want: Record<string, string> = {
    memory: String(createLimits.memory?.maxBytes ?? 'max'),
    pids: String(createLimits.pids ?? 'max'),
  };
  const files: Record<string, string[]> = { memory: ['memory.limit_in_bytes', 'memory.max'], pids: ['pids.max'] };
  const seen: string[] = [];
  let ok = true;
  for (const [what, names] of Object.entries(files)) {
    const found = dirs.flatMap((d) => names.map((n) => path.join(d, n))).find((f) => fs.existsSync(f));
    // A controller this host does not have is the later steps' to report (the cgroup's notes say so).
    if (!found) continue;
    const value = fs.readFileSync(found, 'utf8').trim();
    seen.push(`${path.basename(found)} ${value}`);
    if (value !== want[what]) ok = false;
  }
  const expected = `${want.memory} bytes (${LIMITS.memory}) for memory, ${want.pids} for pids`;
  return { expected, seen: seen.join(', '), ok };
}

/** Every lesson container: lesson 04's (own PIDs, mounts, pivot_root), plus a cgroup namespace, in our cgroup. */
function containerSpec(ctx: LessonContext<State>, args: string[]): ContainerSpec {
  return build(isolatedSpec({ id: ctx.id, rootfs: ctx.rootfs, args }), withCgroup());
}

/** How this lesson starts its containers: the sh init, joined to the cgroup by its launcher. */
function launch(ctx: LessonContext<State>, procsFiles?: readonly string[]) {
  return { executor: 'sh' as const, procsFiles: procsFiles ?? ctx.state.cgroup?.procsFiles ?? planFor(ctx).procsFiles };
}

/** The cgroup this run makes (or, before step 2 and in --explain, would make). */
/** The functions that turn the limits into file writes: lib's, or the learner's with --mine (the exercise). */
function writers(ctx: LessonContext<State>) {
  return { v1: ctx.use(v1LimitWrites), v2: ctx.use(v2LimitWrites) };
}

function planFor(ctx: LessonContext<State>, id = ctx.id) {
  const plan = planCgroup(id, createLimits, { layout: layoutToShow(), limitWrites: writers(ctx) });
  return { plan, procsFiles: plan.drivers.flatMap((d) => d.procsFiles) };
}

/** The files to show for a controller: the live ones once the cgroup exists, else all that it would have. */
function filesOf(ctx: LessonContext<State>, controller: (typeof CONTROLLERS)[number]): string[] {
  const cg = ctx.state.cgroup;
  return cg ? cg.evidenceFiles(controller) : evidenceFiles(planFor(ctx).plan, controller, false);
}

/** The files that hold the limits themselves (memory.max, pids.max, cpu.max, or their v1 names). */
const LIMIT_FILE = /(\.max|limit_in_bytes|cfs_quota_us|cfs_period_us)$/;

const pidOr = (pid: number | undefined) => pid ?? '$PID';

async function showFiles(ctx: LessonContext<State>, label: string, argv: readonly string[]): Promise<string> {
  const r = await ctx.runner.run(argv, { reject: false });
  const text = withoutDirs(r.stdout, ctx.state.dirs ?? []);
  ctx.out.evidence(label, text || '(empty)');
  return text;
}

/** The kernel log's lines about an OOM kill in this cgroup: the kill record, and the "Killed process" line. */
export function oomLines(log: string, cgroupPath: string): string[] {
  const all = log.split('\n');
  const records = all.filter((l) => l.includes(`oom_memcg=${cgroupPath},`) || l.endsWith(`oom_memcg=${cgroupPath}`));
  const pids = records.flatMap((l) => /[,\s]pid=(\d+)/.exec(l)?.[1] ?? []);
  return all.filter((l) => records.includes(l) || pids.some((p) => l.includes(`Killed process ${p} (`)));
}

export default defineLesson<State>({
  number: '05',
  title: 'cgroups: memory, pids and CPU limits',
  summary:
    'A cgroup limits what a group of processes may use. We give the container one — 32 MiB of memory, 20 ' +
    'processes, a fifth of a CPU — then misbehave on purpose inside it, and read from the host how the kernel ' +
    'said no: an OOM kill, refused forks, throttled CPU time.',
  docker: `docker run ${DOCKER_LIMITS} busybox ...`,
  needsRoot: true,
  needsRootfs: true,
  // What its containers run, and what the init script runs after pivot_root (from the rootfs, by then).
  rootfsCommands: ['sh', 'sleep', 'dd', 'cat', 'mount', 'umount', 'rmdir'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'Where the cgroups are on this host',
      explain:
        'cgroups are files. On cgroup v1 (older hosts) every controller has its own tree — ' +
        '/sys/fs/cgroup/memory, /sys/fs/cgroup/pids, /sys/fs/cgroup/cpu — and a process has a place in each, ' +
        'independently. On cgroup v2 (Ubuntu 24.04, the workshop VM) there is one tree, /sys/fs/cgroup, and a ' +
        'directory hands controllers down to its children by listing them in its cgroup.subtree_control. v2 ' +
        'adds the no-internal-process rule: a cgroup that hands controllers down may not hold processes itself ' +
        '(only the root may), so processes live in the leaves. A hybrid host mounts both: v1 trees, and a v2 ' +
        'tree (often at /sys/fs/cgroup/unified, where systemd tracks services) that may hold no controller at ' +
        'all; each controller is used in the tree that holds it. The lesson finds out which this host is.',
      docker: 'docker info --format "{{.CgroupVersion}} {{.CgroupDriver}}"',
      commands: () => {
        const layout = layoutToShow();
        const v2 = layout.v2?.mountPoint;
        return {
          mounts: ['findmnt', '-t', 'cgroup,cgroup2', '-o', 'TARGET,FSTYPE,FS-OPTIONS'],
          ...(layoutVersion(layout) !== 'v1' && v2
            ? { v2: showFilesArgv([`${v2}/cgroup.controllers`, `${v2}/cgroup.subtree_control`]) }
            : {}),
        };
      },
      async run(ctx, cmd) {
        const layout = layoutToShow();
        ctx.state.version = layoutVersion(layout);
        const mounts = await ctx.runner.run(cmd.mounts as string[]);
        ctx.out.evidence('the cgroup filesystems mounted here:', mounts.stdout);
        if ('v2' in cmd) await showFiles(ctx, 'what the v2 root offers, and what it hands down:', cmd.v2 as string[]);
        ctx.out.note(`This host: ${describeCgroupHost(layout)}.`);
      },
    }),

    step({
      title: 'Make the container’s cgroup and write its limits',
      explain:
        'A cgroup is made with mkdir, under the project’s parent `scratch`, named after this run. Limits are ' +
        'numbers written into its files: bytes of memory (and of memory plus swap, so the limit cannot be dodged ' +
        'by swapping) and a maximum number of processes; cpu.max (or cpu.cfs_quota_us) still says there is no ' +
        'CPU limit: that one is written in step 7, on a running container. On v2 the controllers must first be ' +
        'enabled in cgroup.subtree_control of ' +
        'every directory above the leaf (never in the leaf: processes go there). On v1 there is one directory ' +
        'per tree, each with its own files. The limits were checked before anything was made: `32m` is fine, ' +
        '`32x` would have stopped the lesson with a one-line error and nothing on the host.',
      docker: `docker run --memory ${LIMITS.memory} --memory-swap ${LIMITS.memorySwap} --pids-limit ${LIMITS.pids} ...`,
      commands: (ctx) => {
        const { plan } = planFor(ctx);
        const ops = Object.fromEntries(plan.ops.map((op, i) => [`op${i}`, { op: hostOpOf(op) }]));
        const limitFiles = CONTROLLERS.flatMap((c) => evidenceFiles(plan, c, false)).filter((f) => LIMIT_FILE.test(f));
        const v2 = plan.drivers.find((d) => d.version === 'v2');
        const cmds: Record<string, Shown> = { ...ops, limits: showFilesArgv(limitFiles) };
        if (v2?.parents[0] && v2.dirs[0]) {
          cmds.handDown = showFilesArgv([
            `${v2.parents[0]}/cgroup.subtree_control`,
            `${v2.dirs[0]}/cgroup.controllers`,
          ]);
        }
        return cmds;
      },
      hint: 1,
      async run(ctx, cmd) {
        const cg = createCgroup(ctx.cleanup, ctx.id, createLimits, { runner: ctx.runner, limitWrites: writers(ctx) });
        ctx.state.cgroup = cg;
        ctx.state.dirs = cg.dirs;
        ctx.state.notes = cg.notes;
        ctx.out.evidence(
          `the cgroup, ${cg.path}, is ${cg.dirs.length === 1 ? 'one directory' : 'one directory per tree'}:`,
          cg.dirs.join('\n'),
        );
        await showFiles(ctx, 'the limits, read back from the kernel:', cmd.limits as string[]);
        // Limits that did not take would make every later step fail for a reason it cannot name: stop here.
        ctx.state.readBack = readBackLimits(cg.dirs);
        if (!ctx.state.readBack.ok) throw new CheckFailed(readBackCheck(ctx.state.readBack));
        if ('handDown' in cmd) {
          await showFiles(ctx, 'v2: what scratch hands down, so what the leaf has:', cmd.handDown as string[]);
        }
        for (const n of cg.notes) ctx.out.note(n);
      },
    }),

    step({
      title: 'Start a container inside it',
      explain:
        'The container is lesson 04’s, with one addition in front: before `unshare`, a tiny `sh` writes its own ' +
        'PID ($$) into the cgroup.procs of the cgroup, then `exec`s unshare. Every process the container ever ' +
        'starts is a descendant of that one, and children are born in their parent’s cgroup, so nothing inside ' +
        'can start outside the limits. It also gets a cgroup namespace (as docker gives on v2), which we look at ' +
        'in the next step. init.sh is lesson 04’s init script; later containers in this lesson use it too.',
      docker: `docker run -d --memory ${LIMITS.memory} --memory-swap ${LIMITS.memorySwap} --pids-limit ${LIMITS.pids} busybox sleep 3600`,
      commands: (ctx) => ({
        ...containerCommands(containerSpec(ctx, ['sleep', '3600']), { ...launch(ctx), background: true }),
        procs: ['cat', launch(ctx).procsFiles[0] ?? ''],
        ps: ['ps', '-o', 'pid,ppid,args', '-p', '$LAUNCHER,$PID'],
      }),
      async run(ctx, cmd) {
        const cg = ctx.state.cgroup!;
        const c = await startContainer(ctx.runner, ctx.cleanup, containerSpec(ctx, ['sleep', '3600']), launch(ctx));
        ctx.state.sleeper = c;
        ctx.state.sleeperPid = c.hostPid;
        ctx.state.procsListedIt = cg.processes().includes(c.hostPid);
        const first = cg.procsFiles[0] ?? '';
        ctx.out.evidence(
          `${first} lists the container’s processes:`,
          (await ctx.runner.run(cmd.procs as string[])).stdout,
        );
        const ps = await ctx.runner.run(['ps', '-o', 'pid,ppid,args', '-p', `${c.launcherPid},${c.hostPid}`]);
        ctx.out.evidence('which are (unshare, and the container’s PID 1):', ps.stdout);
      },
    }),

    step({
      title: 'Which cgroup is it in? Ask both sides',
      explain:
        '/proc/<pid>/cgroup says where a process sits: one line per v1 tree (`4:memory:/scratch/ID`), or the ' +
        'single line `0::/scratch/ID` on v2. Joined to the tree’s mount point, that path is the directory we ' +
        'made. Inside, the container reads `/` instead: its cgroup namespace makes its own cgroup look like the ' +
        'root, so it cannot see — or name — the host’s tree above it. Then we stop the container: the cgroup ' +
        'outlives its processes, empty, with its limits, until it is removed.',
      docker: 'docker exec CONTAINER cat /proc/self/cgroup    # docker run --cgroupns private is the v2 default',
      commands: (ctx) => {
        const c = ctx.state.sleeper;
        const cat = ['cat', '/proc/self/cgroup'];
        return {
          host: ['cat', `/proc/${pidOr(c?.hostPid)}/cgroup`],
          // Join the cgroup first (as the container did), then its namespaces, cgroup namespace included.
          container: nsenterExecArgv(
            containerSpec(ctx, ['sleep', '3600']),
            pidOr(c?.hostPid),
            cat,
            launch(ctx).procsFiles,
          ),
          stop: { op: { kind: 'kill', pid: c?.hostPid ?? '$PID', signal: 'SIGKILL' } },
        };
      },
      async run(ctx, cmd) {
        const cg = ctx.state.cgroup!;
        const host = await ctx.runner.run(cmd.host as string[]);
        const inside = await ctx.runner.run(cmd.container as string[]);
        ctx.state.hostView = host.stdout;
        ctx.state.containerView = inside.stdout;
        ctx.out.compare('/proc/<pid>/cgroup, read by the host and by the container itself', host.stdout, inside.stdout);
        const ours = hostDirsOf(host.stdout, layoutToShow()).filter((m) => m.line.endsWith(cg.path));
        ctx.out.evidence(
          'those lines, as directories on the host:',
          ours.map((m) => `${m.line.padEnd(28)} → ${m.dir}`).join('\n'),
        );
        await ctx.state.sleeper?.stop();
        ctx.state.procsAfterStop = cg.processes().length;
        ctx.out.evidence(
          'after stopping the container: cgroup.procs is empty, the directory and limits remain',
          `${cg.processes().length} processes; ${cg.dirs[0]} still exists`,
        );
      },
    }),

    step({
      title: 'Memory: past the limit, the OOM killer',
      explain:
        'A new container in the same cgroup runs `dd` with a 64 MiB buffer — twice the limit. The kernel ' +
        'reclaims what it can, finds nothing (swap is limited too), and invokes the OOM killer *inside the ' +
        'cgroup only*: it kills dd with SIGKILL and the shell reports status 137 (128 + 9). Nothing outside the ' +
        "cgroup is touched; the host's kernel log records the kill, naming the cgroup (oom_memcg). The counter " +
        'that recorded it: `oom_kill` in memory.events (v2) or memory.oom_control (v1); ' +
        'memory.max_usage_in_bytes / memory.peak show it reached the limit, and the current usage is back ' +
        'to almost nothing.',
      docker:
        'docker run --memory 32m --memory-swap 32m busybox dd if=/dev/zero of=/dev/null bs=64M count=1   ' +
        '# then docker inspect → OOMKilled',
      commands: (ctx) => ({
        run: launchOf(containerSpec(ctx, ['sh', '-c', MEMORY_HOG]), launch(ctx)).argv,
        files: showFilesArgv(filesOf(ctx, 'memory')),
        log: KERNEL_LOG,
      }),
      async run(ctx, cmd) {
        const cg = ctx.state.cgroup!;
        const r = await runContainer(
          ctx.runner,
          ctx.cleanup,
          containerSpec(ctx, ['sh', '-c', MEMORY_HOG]),
          launch(ctx),
        );
        const output = `${r.stderr}\n${r.stdout}`.trim();
        const stats = cg.stats().memory;
        ctx.state.memory = { output, killed: /exit status: 137/.test(r.stdout), stats };
        const files = await runFiles(ctx, cmd.files as string[]);
        ctx.out.compare('the memory hog: the host’s cgroup files vs what the container printed', files, output);
        if (/memory\.failcnt:0\b/.test(files)) {
          ctx.out.note(
            'memory.failcnt:0 next to an OOM kill? failcnt counts the charges refused at memory.limit_in_bytes. ' +
              'Here memory and memory+swap have the same 32 MiB limit, and the memory+swap charge is tried ' +
              'first, so that is the one refused; recent kernels keep no failcnt for memory+swap ' +
              '(memory.memsw.failcnt stays 0 too). The OOM kill itself is counted: oom_kill in memory.oom_control.',
          );
        }
        const log = await ctx.runner.run(cmd.log as string[], { reject: false });
        const about = log.exitCode === 0 ? oomLines(log.stdout, cg.path) : [];
        ctx.state.memory.kernelLog = about;
        ctx.out.evidence(
          `the host's kernel log (dmesg), its lines about this cgroup (oom_memcg=${cg.path}):`,
          log.exitCode !== 0
            ? `(the kernel log is not readable here: ${log.stderr.trim() || `exit ${log.exitCode}`})`
            : about.join('\n') || '(no line about this cgroup: the log may have been cleared or rotated)',
        );
        if (stats) {
          ctx.out.note(
            `${stats.oomKills} OOM kill(s) in this cgroup; limit ${formatBytes(Number(stats.maxBytes))}, ` +
              `peak ${stats.peakBytes !== undefined ? formatBytes(stats.peakBytes) : 'not recorded'}, ` +
              `now ${formatBytes(stats.currentBytes)}.`,
          );
        }
      },
    }),

    step({
      title: 'pids: a fork bomb hits the wall',
      explain:
        'A fork bomb starts processes until the machine can start no more — on the host, that takes everyone ' +
        'down. Ours is bounded (a loop that tries to start 100 sleeping processes) and runs in the cgroup, ' +
        'which allows 20 processes in all, counting unshare and the container’s own shell. Past that, fork() ' +
        'fails with EAGAIN (“Resource temporarily unavailable”); the kernel counts each refusal in pids.events. ' +
        'The host meanwhile forks as usual: while the bomb holds its PIDs, a shell on the host starts a process.',
      docker: `docker run --pids-limit 20 busybox sh -c 'FORK LOOP'`,
      commands: (ctx) => ({
        run: launchOf(containerSpec(ctx, ['sh', '-c', FORK_BOMB]), launch(ctx)).argv,
        files: showFilesArgv(filesOf(ctx, 'pids')),
        host: HOST_FORK,
      }),
      async run(ctx, cmd) {
        const cg = ctx.state.cgroup!;
        const bomb = runContainer(ctx.runner, ctx.cleanup, containerSpec(ctx, ['sh', '-c', FORK_BOMB]), launch(ctx));
        // A bomb that fails to start is seen at `await bomb` below; meanwhile its failure must not crash the runner.
        bomb.catch(() => {});
        // Read while the sleeps that did start still hold their PIDs: as soon as a fork has been refused.
        const seen = await waitForStats(cg, (s) => (s.pids?.forkFailures ?? 0) > 0);
        const files = await runFiles(ctx, cmd.files as string[]);
        const hostFork = await ctx.runner.run(cmd.host as string[], { reject: false });
        const r = await bomb;
        const output = `${r.stderr}\n${r.stdout}`.trim();
        ctx.state.pids = {
          output,
          stats: seen.stats.pids,
          // busybox sh says "can't fork", dash (a Debian rootfs) "Cannot fork", bash "Resource temporarily unavailable".
          sawRefusal: /can't fork|cannot fork|resource temporarily unavailable/i.test(r.stderr),
          hostCouldFork: hostFork.exitCode === 0 && /PID \d+/.test(hostFork.stdout),
        };
        ctx.out.compare('the fork bomb: the host’s cgroup files vs what the container printed', files, output);
        ctx.out.evidence('the host meanwhile, while the bomb held its PIDs:', hostFork.stdout || hostFork.stderr);
      },
    }),

    step({
      title: 'CPU: a busy loop, before and after a quota',
      explain:
        'A container that spins forever takes a whole CPU: we start one and measure it from the host. Then we ' +
        'give its running cgroup a quota of 20 000 µs per 100 000 µs period (docker update --cpus 0.2): the ' +
        'scheduler now lets the loop run for 20 ms, then throttles it — takes it off the CPU — until the next ' +
        'period starts. cpu.stat counts the periods (nr_periods), those in which the group was throttled ' +
        '(nr_throttled) and the time it was held back. Measured again over three seconds, the cgroup uses ' +
        'about 0.2 seconds of CPU per second.',
      docker: `docker run -d busybox sh -c '${BUSY_LOOP}'; docker update --cpus ${LIMITS.cpus} CONTAINER`,
      commands: (ctx) => {
        const quota = cpuLimit ? { cpu: cpuLimit } : {};
        const writes = ctx.state.cgroup
          ? ctx.state.cgroup.updateOps(quota)
          : planFor(ctx).plan.drivers.flatMap((d) => d.limitOps(quota));
        return {
          start: { bg: launchOf(containerSpec(ctx, ['sh', '-c', BUSY_LOOP]), launch(ctx)).argv },
          ...Object.fromEntries(writes.map((op, i) => [`quota${i}`, { op: hostOpOf(op) }])),
          files: showFilesArgv(filesOf(ctx, 'cpu')),
        };
      },
      async run(ctx, cmd) {
        const cg = ctx.state.cgroup!;
        const c = await startContainer(
          ctx.runner,
          ctx.cleanup,
          containerSpec(ctx, ['sh', '-c', BUSY_LOOP]),
          launch(ctx),
        );
        ctx.state.cpu = { container: c };
        await waitForStats(cg, (s) => (s.cpu?.usageUsec ?? 0) > 0);
        const before = await measureCpu(cg, CPU_BEFORE_MS);
        ctx.state.cpu.before = before;
        ctx.out.note(
          `Without a quota: ${(before.usageUsec / 1e6).toFixed(2)} s of CPU in ${(before.wallUsec / 1e6).toFixed(2)} s ` +
            `= ${before.cpus.toFixed(2)} CPU.`,
        );
        cg.update({ cpu: cpuLimit });
        const m = await measureCpu(cg, CPU_WINDOW_MS);
        ctx.state.cpu.measured = m;
        await showFiles(ctx, 'the cgroup’s CPU files after the window:', cmd.files as string[]);
        ctx.out.note(
          `With the quota: ${(m.usageUsec / 1e6).toFixed(2)} s of CPU in ${(m.wallUsec / 1e6).toFixed(2)} s ` +
            `= ${m.cpus.toFixed(2)} CPU (quota ${CPU_QUOTA}); throttled in ${m.throttledPeriods} of ${m.periods} ` +
            `periods, held back ${(m.throttledUsec / 1e6).toFixed(2)} s.`,
        );
      },
    }),

    step({
      title: 'Remove the cgroup: processes first',
      explain:
        'rmdir removes a cgroup — but only an empty one: the kernel refuses (EBUSY) while a process is inside. ' +
        'So the processes go first: the busy loop is still running, so it is killed (on v2 one write to ' +
        'cgroup.kill ends everything inside; on v1 each PID in cgroup.procs is killed), then the directory is ' +
        'removed, and the `scratch` parent too if no other run is using it. The same happens on Ctrl-C: the ' +
        'removal was registered on the cleanup stack the moment the cgroup was made.',
      docker: 'docker rm -f CONTAINER',
      commands: (ctx) => {
        const cg = ctx.state.cgroup ?? new CgroupGroup(planFor(ctx).plan);
        return {
          ...Object.fromEntries(cg.removeOps().map((op, i) => [`rm${i}`, { op }])),
          ls: ['ls', '-d', ...cg.dirs],
        };
      },
      async run(ctx, cmd) {
        const cg = ctx.state.cgroup!;
        ctx.out.evidence('still inside before removal (PIDs):', cg.processes().join(' ') || '(none)');
        await cg.remove();
        const left = await ctx.runner.run(cmd.ls as string[], { reject: false });
        ctx.state.removed = { dirsLeft: left.stdout.split('\n').filter(Boolean) };
        ctx.out.evidence('ls -d on the cgroup directories now:', left.stderr || left.stdout);
      },
    }),
  ],

  shell: (ctx) => {
    // The lesson's cgroup is gone (step 8), so the shell gets a fresh one with the same limits, removed with the
    // rest of the cleanup when the shell ends. Nothing is made when the commands are only being shown.
    const id = `${ctx.id}sh`;
    const procsFiles =
      ctx.mode === 'explain' || ctx.runner.dryRun
        ? planFor(ctx, id).procsFiles
        : createCgroup(ctx.cleanup, id, limits, { runner: ctx.runner, limitWrites: writers(ctx) }).procsFiles;
    return interactiveShell(
      containerSpec(ctx, ['sh']),
      `A busybox shell in a container with the same limits, in a fresh cgroup (scratch/${id}). Try ` +
        '`cat /proc/self/cgroup`, a fork loop, or `dd if=/dev/zero of=/dev/null bs=64M count=1`, and watch the ' +
        'files under /sys/fs/cgroup from another terminal on the host. Type `exit` to leave.',
      { ...launch(ctx, procsFiles), runner: ctx.runner, cleanup: ctx.cleanup },
    );
  },

  checks: (s) => {
    const m = s.memory?.stats;
    const readBack = s.readBack ?? { expected: 'the limits', seen: 'step 2 did not run', ok: false };
    const p = s.pids?.stats;
    const cpu = s.cpu?.measured;
    return [
      {
        claim: 'the container’s cgroup was made under scratch/<id> in every tree it needs',
        ok: (s.dirs?.length ?? 0) > 0 && !!s.cgroup && s.dirs!.every((d) => d.endsWith(s.cgroup!.path)),
        detail: `${s.version}, ${s.dirs?.length ?? 0} director${s.dirs?.length === 1 ? 'y' : 'ies'}`,
      },
      readBackCheck(readBack),
      {
        claim: 'the container’s process was listed in cgroup.procs, and the host saw /scratch/<id> for it',
        ok: !!s.procsListedIt && !!s.cgroup && !!s.hostView?.includes(`:${s.cgroup.path}`),
      },
      {
        claim: 'inside, its cgroup namespace showed only /',
        ok:
          !!s.containerView &&
          s.containerView
            .trim()
            .split('\n')
            .every((l) => l.endsWith(':/')),
      },
      {
        claim: 'memory: the allocation past 32 MiB was OOM-killed, and the kernel counted it',
        ok: !!s.memory?.killed && (m?.oomKills ?? 0) >= 1,
        detail: m ? `oom_kill ${m.oomKills}, exit status 137: ${s.memory?.killed}` : undefined,
        expected: 'dd killed (status 137) and memory.events oom_kill ≥ 1',
        seen: m ? `oom_kill ${m.oomKills}; ${s.memory?.killed ? 'killed' : 'not killed'}` : 'no memory counters',
        hint: 2,
      },
      {
        claim: 'pids: the fork bomb never got past the limit; forks were refused; the host could still fork',
        ok:
          !!p &&
          p.max === limits.pids &&
          p.current <= (limits.pids ?? 0) &&
          p.forkFailures > 0 &&
          !!s.pids?.sawRefusal &&
          !!s.pids.hostCouldFork,
        detail: p ? `pids.current ${p.current} of ${p.max}, ${p.forkFailures} refused` : undefined,
        expected: `pids.max ${limits.pids}, pids.current at most that, forks refused`,
        seen: p ? `pids.max ${p.max}, pids.current ${p.current}, ${p.forkFailures} refused` : 'no pids counters',
        hint: 2,
      },
      {
        claim: 'cpu: the busy loop took far more than 0.2 CPU, then, with the quota, was throttled to about 0.2',
        ok:
          !!cpu &&
          (s.cpu?.before?.cpus ?? 0) > CPU_QUOTA * 1.5 &&
          cpu.throttledPeriods > 0 &&
          cpu.cpus > CPU_QUOTA / 4 &&
          cpu.cpus < CPU_QUOTA * 2,
        detail: cpu
          ? `${s.cpu?.before?.cpus.toFixed(2)} → ${cpu.cpus.toFixed(2)} CPU, throttled ${cpu.throttledPeriods}/${cpu.periods} periods`
          : undefined,
        expected: `about ${CPU_QUOTA} CPU with the quota (between ${CPU_QUOTA / 4} and ${CPU_QUOTA * 2}), throttled periods`,
        hint: 2,
      },
      {
        claim: 'the cgroup was removed once its processes were gone',
        ok: !!s.removed && s.removed.dirsLeft.length === 0,
      },
    ];
  },

  exercise: {
    file: '05-cgroups.ts',
    functions: { v1LimitWrites, v2LimitWrites },
    solutionIn: ['lib/cgroups/v1.ts', 'lib/cgroups/v2.ts'],
    contract:
      'write v2LimitWrites(leaf, limits) and v1LimitWrites(dirs, limits): the cgroup file writes that set a ' +
      'memory (and memory+swap), pids and CPU limit, on each cgroup version.',
    hints: [
      'One write per limit given ({ kind: "write", path, value }); skip a limit that is not set. The files are named in the doc comment.',
      'Values are strings: String(limits.pids); cpu.max is `${quotaUs} ${periodUs}`; v1 memory+swap is maxBytes + swapBytes.',
      'Swap files are optional: add optional: { shown: "if present", note: "…" } so a kernel without swap accounting skips them. Order on v1: memory before memsw, period before quota.',
    ],
    minutes: 20,
    shape: {
      v1LimitWrites: listOf('v1LimitWrites', 'kind', 'cgroup writes ({ kind: "write", path, value })'),
      v2LimitWrites: listOf('v2LimitWrites', 'kind', 'cgroup writes ({ kind: "write", path, value })'),
    },
  },

  recap: {
    saw: [
      'A cgroup is a directory: mkdir makes it, numbers written into its files limit it, a PID written into ' +
        'cgroup.procs puts a process (and all its future children) in it, rmdir removes it once it is empty.',
      'Memory past the limit is not refused: the OOM killer kills a process in that cgroup, and counts it.',
      'Past pids.max, fork() fails; a fork bomb stays inside its cgroup and the host does not notice.',
      'A CPU quota does not slow the processor: it takes the group off it once the quota of each period is spent.',
      'v1 has one tree per controller; v2 one tree, with controllers handed down through cgroup.subtree_control.',
    ],
    next:
      'Lesson 06 gives the container a filesystem of its own to write in: overlay layers, where writes land in ' +
      'an upper directory and the image underneath never changes.',
  },
});

/** The check on what the limit files read back (step 2 stops the lesson with it when it fails). */
function readBackCheck(r: { expected: string; seen: string; ok: boolean }) {
  return {
    claim: 'the limit files hold the limits asked for, in their units',
    ok: r.ok,
    expected: r.expected,
    seen: r.seen,
    hint: 2,
  };
}

/** Runs a file-showing argv and returns its text with the run's directories cut from the paths. */
async function runFiles(ctx: LessonContext<State>, argv: string[]): Promise<string> {
  const r = await ctx.runner.run(argv, { reject: false });
  return withoutDirs(r.stdout, ctx.state.dirs ?? []).trim();
}
