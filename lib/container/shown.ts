/**
 * How a lesson shows a container: the very argv that starts it, and the init it runs.
 *
 * A container's start command holds its whole init script (`sh -c '<40 lines>' …`) or names the TypeScript
 * init; neither reads well inline. So a lesson shows the script once, as the heredoc that writes init.sh, and the
 * command with the script argument written as `"$(cat init.sh)"` — paste both and you get the same argv. For the
 * TypeScript init it shows the plan as the system calls it will make. Everything here is computed from the same
 * plan the runtime runs (lib/init/plan.ts), so what is shown is what runs.
 */
import path from 'node:path';
import { DIST, initBundle } from '../bundle.ts';
import { initPlan, type Executor, type PlanParts } from '../init/plan.ts';
import { INIT_FILE, renderSh } from '../init/render-sh.ts';
import { renderSyscalls, syscallLines } from '../init/render-syscalls.ts';
import { quoteArgv } from '../quote.ts';
import type { CleanupStack } from '../cleanup.ts';
import { writeFile, type InteractiveShell, type Shown } from '../lesson.ts';
import type { Runner } from '../runner.ts';
import { hasNamespace, withEnv, type ContainerSpec } from '../spec.ts';
import { idMapSteps, userMaps, writeIdMaps, type MapWriter } from '../userns.ts';
import { execArgvFor, runArgv, type TsInit, type UnshareArgv } from './launch.ts';
import { runContainer } from './start.ts';

/** Where the TypeScript init is, as the launcher names it (built on first start). */
export function tsInitPaths(): TsInit {
  return { node: process.execPath, bundle: path.join(DIST, 'init.cjs') };
}

export interface LaunchOptions {
  executor: Executor;
  /** The cgroup.procs files the container joins (lesson 05 on). */
  procsFiles?: readonly string[];
  /** Parts of the init plan the learner wrote (`--mine`); lib's otherwise. */
  parts?: Partial<PlanParts>;
  /** How the namespaces are made, when the learner wrote it (lesson 03's exercise). */
  unshareArgv?: UnshareArgv;
  /**
   * A command put in front of the launcher, which must exec the rest: lesson 11's parent that leaks a file
   * descriptor into the container (`sh -c 'exec 7</ && exec "$@"' leak …`).
   */
  launcher?: readonly string[];
  /** With a user namespace: who writes its maps at the sync point (default: root). */
  mapWriter?: MapWriter;
}

/** The argv that starts the container, and the script or plan it runs: one value for showing and running. */
export function launchOf(spec: ContainerSpec, opts: LaunchOptions) {
  const plan = initPlan(spec, { mode: 'run', executor: opts.executor, parts: opts.parts });
  const launcher = opts.launcher ?? [];
  if (opts.executor === 'sh') {
    const script = renderSh(plan);
    const argv = [...launcher, ...runArgv(spec, { executor: 'sh', script }, opts.procsFiles, opts.unshareArgv)];
    return { plan, script, argv };
  }
  const argv = [...launcher, ...runArgv(spec, { executor: 'ts', init: tsInitPaths() }, [], opts.unshareArgv)];
  return { plan, script: undefined, argv };
}

/**
 * The line that sets $PID to the host PID of the container's first process after it was started with `&`: `$!`
 * itself (env execs unshare, which execs the init, which execs the command), or, with a PID namespace, the child
 * that `unshare --fork` made (given a moment to exist); $LAUNCHER keeps unshare's. A lesson with several
 * containers running names each one's variable (`name`: `CAPS` sets $CAPS).
 */
export function pidLine(spec: ContainerSpec, name = 'PID'): string {
  return hasNamespace(spec, 'pid') ? `LAUNCHER=$!; sleep 0.5; ${name}=$(pgrep -P $LAUNCHER)` : `${name}=$!`;
}

/**
 * What the host does at a user namespace's sync point, as shown commands: the map writes for `$PID` (the
 * launcher's waiting `sh`, which becomes the container's first process). Empty without a user namespace.
 */
export function mapCommands(spec: ContainerSpec, writer: MapWriter = { as: 'root' }): Record<string, Shown> {
  if (!hasNamespace(spec, 'user')) return {};
  return Object.fromEntries(idMapSteps('$PID', userMaps(spec), writer).map((s, i) => [`map${i}`, s]));
}

/** The function the runtime calls at that sync point to run those very commands (start.ts `mapIds`). */
export function mapIdsWith(runner: Runner, spec: ContainerSpec, writer: MapWriter) {
  return (pid: number) => writeIdMaps(runner, idMapSteps(pid, userMaps(spec), writer));
}

/**
 * What a step shows to start a container: init.sh (or the syscall plan), the start command (in the background,
 * `&`, when `background`), the PID line, and with a user namespace the maps written while it waits. The
 * runtime starts exactly `start`'s argv.
 */
export function containerCommands(
  spec: ContainerSpec,
  opts: LaunchOptions & {
    background?: boolean;
    /** The name of the variable the PID line sets (default PID). */
    pidVar?: string;
    /** A container shown earlier: show only the system calls this one makes that it did not (TypeScript init). */
    since?: ContainerSpec;
  },
): Record<string, Shown> {
  const l = launchOf(spec, opts);
  const init: Shown = l.script
    ? writeFile(INIT_FILE, l.script.text)
    : opts.since
      ? {
          shell: `# the TypeScript init makes the system calls shown before, and now also:\n${addedSyscalls(opts.since, spec, opts.executor)}`,
        }
      : { shell: `# the TypeScript init makes these system calls, then execve:\n${renderSyscalls(l.plan)}` };
  const maps = mapCommands(spec, opts.mapWriter);
  if (!opts.background && Object.keys(maps).length === 0) return { init, run: l.argv };
  // With maps to write, the container waits for them: it is started in the background even when shown whole.
  return { init, start: { bg: l.argv }, pid: { shell: pidLine(spec, opts.pidVar) }, ...maps };
}

/**
 * The system calls the init makes for `spec` that it does not make for `earlier`, each under its step's comment:
 * what one hardening step adds to the plan. The two containers' own directories and hostnames are not a difference.
 */
export function addedSyscalls(earlier: ContainerSpec, spec: ContainerSpec, executor: Executor = 'ts'): string {
  // Each container's directories and hostname are named after its id: the same line with another id is no news.
  const own = (s: ContainerSpec) => (line: string) => line.replaceAll(s.id, '$ID');
  const before = new Map<string, number>();
  for (const step of initPlan(earlier, { mode: 'run', executor }).steps) {
    for (const line of step.ops.flatMap(syscallLines).map(own(earlier))) before.set(line, (before.get(line) ?? 0) + 1);
  }
  const out: string[] = [];
  for (const step of initPlan(spec, { mode: 'run', executor }).steps) {
    const added = step.ops.flatMap(syscallLines).filter((line) => {
      const key = own(spec)(line);
      const left = before.get(key) ?? 0;
      if (left > 0) before.set(key, left - 1);
      return left === 0;
    });
    if (added.length > 0) out.push(`// ${step.feature}`, ...added);
  }
  return out.join('\n');
}

/**
 * What a step shows to run `args` inside a running container the way `ctr exec` does (lib/container/exec.ts): the
 * command, as a comment — it reaches the init over its socket, not on the command line — and the argv that starts
 * the init in the container's namespaces.
 */
export function execCommands(
  spec: ContainerSpec,
  targetPid: number | string,
  args: readonly string[],
  label = 'exec, through the init',
): { what: Shown; exec: Shown } {
  const user = spec.process.user;
  const as = user && user.uid !== 0 ? ` (as uid ${user.uid})` : '';
  return {
    what: { shell: `# ${label}${as}: ${quoteArgv(args)}` },
    exec: execArgvFor(spec, targetPid, tsInitPaths()),
  };
}

/** The same container with an interactive login shell as its command, and the terminal type passed in. */
export function interactiveSpec(spec: ContainerSpec, term = process.env.TERM ?? 'xterm'): ContainerSpec {
  return { ...spec, process: { ...spec.process, args: ['sh', '-l'], env: withEnv(spec.process.env, 'TERM', term) } };
}

/**
 * The shell a lesson offers at the end: a login shell in this same container, on the learner's terminal. The sh
 * init runs as the argv itself (with no sync socket it skips the handshake); the TypeScript init gets its plan
 * over its socket, so it is started through the runtime.
 */
export function interactiveShell(
  spec: ContainerSpec,
  explain: string,
  opts: LaunchOptions & { runner: Runner; cleanup: CleanupStack },
): InteractiveShell {
  const shell = interactiveSpec(spec);
  const l = launchOf(shell, opts);
  if (l.script) return { explain, argv: l.argv, files: { [INIT_FILE]: l.script.text } };
  return {
    explain,
    argv: l.argv,
    start: async () =>
      runContainer(opts.runner, opts.cleanup, shell, {
        executor: 'ts',
        init: await initBundle(),
        procsFiles: opts.procsFiles,
        parts: opts.parts,
        unshareArgv: opts.unshareArgv,
        stdio: 'inherit',
        mapIds: opts.mapWriter ? mapIdsWith(opts.runner, shell, opts.mapWriter) : undefined,
      }),
  };
}
