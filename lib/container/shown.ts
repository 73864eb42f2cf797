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
import { renderSyscalls } from '../init/render-syscalls.ts';
import type { CleanupStack } from '../cleanup.ts';
import { writeFile, type InteractiveShell, type Shown } from '../lesson.ts';
import type { Runner } from '../runner.ts';
import { hasNamespace, withEnv, type ContainerSpec } from '../spec.ts';
import { runArgv, type TsInit, type UnshareArgv } from './launch.ts';
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
}

/** The argv that starts the container, and the script or plan it runs: one value for showing and running. */
export function launchOf(spec: ContainerSpec, opts: LaunchOptions) {
  const plan = initPlan(spec, { mode: 'run', executor: opts.executor, parts: opts.parts });
  if (opts.executor === 'sh') {
    const script = renderSh(plan);
    return { plan, script, argv: runArgv(spec, { executor: 'sh', script }, opts.procsFiles, opts.unshareArgv) };
  }
  const argv = runArgv(spec, { executor: 'ts', init: tsInitPaths() }, [], opts.unshareArgv);
  return { plan, script: undefined, argv };
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
 * What a step shows to start a container: init.sh (or the syscall plan), the start command (in the background,
 * `&`, when `background`), and the PID line. The runtime starts exactly `start`'s argv.
 */
export function containerCommands(
  spec: ContainerSpec,
  opts: LaunchOptions & { background?: boolean },
): Record<string, Shown> {
  const l = launchOf(spec, opts);
  const init: Shown = l.script
    ? writeFile(INIT_FILE, l.script.text)
    : { shell: `# the TypeScript init makes these system calls, then execve:\n${renderSyscalls(l.plan)}` };
  if (!opts.background) return { init, run: l.argv };
  return { init, start: { bg: l.argv }, pid: { shell: pidLine(spec) } };
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
      }),
  };
}
