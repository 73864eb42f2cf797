/**
 * Background processes a lesson starts and must end.
 *
 * A container that keeps running while the lesson looks at it from the host is a background process. It is
 * registered on the cleanup stack the moment it starts, so Ctrl-C in the middle of a lesson still ends it.
 * Only processes this run started are ever signalled, by the PID the runner got back.
 */
import type { CleanupStack } from './cleanup.ts';
import type { BackgroundProcess, Runner, RunOptions } from './runner.ts';

/** How long a process gets to exit after SIGTERM before it is sent SIGKILL. */
const GRACE_MS = 2000;

export async function stopProcess(proc: BackgroundProcess, graceMs = GRACE_MS): Promise<void> {
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  try {
    await proc.wait();
  } finally {
    clearTimeout(timer);
  }
}

/** Start `argv` in the background and register its end on the cleanup stack. */
export function startBackground(
  runner: Runner,
  cleanup: CleanupStack,
  argv: readonly string[],
  opts: Omit<RunOptions, 'reject'> = {},
): BackgroundProcess {
  const proc = runner.start(argv, opts);
  cleanup.push(`stop process ${proc.pid} (${argv[0] ?? '?'})`, () => stopProcess(proc));
  return proc;
}
