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
import { initPlan, type Executor } from '../init/plan.ts';
import { INIT_FILE, renderSh } from '../init/render-sh.ts';
import { renderSyscalls } from '../init/render-syscalls.ts';
import type { CleanupStack } from '../cleanup.ts';
import { writeFile, type InteractiveShell, type Shown } from '../lesson.ts';
import type { Runner } from '../runner.ts';
import { hasNamespace, withEnv, type ContainerSpec } from '../spec.ts';
import { idMapSteps, userMaps, writeIdMaps, type MapWriter } from '../userns.ts';
import { runArgv, type TsInit } from './launch.ts';
import { runContainer } from './start.ts';

/** Where the TypeScript init is, as the launcher names it (built on first start). */
export function tsInitPaths(): TsInit {
  return { node: process.execPath, bundle: path.join(DIST, 'init.cjs') };
}

export interface LaunchOptions {
  executor: Executor;
  /** The cgroup.procs files the container joins (lesson 05 on). */
  procsFiles?: readonly string[];
  /** With a user namespace: who writes its maps at the sync point (default: root). */
  mapWriter?: MapWriter;
}

/** The argv that starts the container, and the script or plan it runs: one value for showing and running. */
export function launchOf(spec: ContainerSpec, opts: LaunchOptions) {
  const plan = initPlan(spec, { mode: 'run', executor: opts.executor });
  if (opts.executor === 'sh') {
    const script = renderSh(plan);
    return { plan, script, argv: runArgv(spec, { executor: 'sh', script }, opts.procsFiles) };
  }
  return { plan, script: undefined, argv: runArgv(spec, { executor: 'ts', init: tsInitPaths() }) };
}

/**
 * The line that sets $PID to the host PID of the container's first process after it was started with `&`: `$!`
 * itself (env execs unshare, which execs the init, which execs the command), or, with a PID namespace, the child
 * that `unshare --fork` made (given a moment to exist); $LAUNCHER keeps unshare's.
 */
export function pidLine(spec: ContainerSpec): string {
  return hasNamespace(spec, 'pid') ? 'LAUNCHER=$!; sleep 0.5; PID=$(pgrep -P $LAUNCHER)' : 'PID=$!';
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
  opts: LaunchOptions & { background?: boolean },
): Record<string, Shown> {
  const l = launchOf(spec, opts);
  const init: Shown = l.script
    ? writeFile(INIT_FILE, l.script.text)
    : { shell: `# the TypeScript init makes these system calls, then execve:\n${renderSyscalls(l.plan)}` };
  const maps = mapCommands(spec, opts.mapWriter);
  if (!opts.background && Object.keys(maps).length === 0) return { init, run: l.argv };
  // With maps to write, the container waits for them: it is started in the background even when shown whole.
  return { init, start: { bg: l.argv }, pid: { shell: pidLine(spec) }, ...maps };
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
        stdio: 'inherit',
        mapIds: opts.mapWriter ? mapIdsWith(opts.runner, shell, opts.mapWriter) : undefined,
      }),
  };
}
