/**
 * A command run on a real pseudo-terminal, as a learner's terminal would run it: stdin is a TTY (so prompts
 * are inquirer's raw-mode prompts, Ctrl-C is a key, the shell at the end of a lesson is offered). util-linux's
 * `script` makes the terminal (it is on every Debian machine); keys written here are typed into it.
 */
import { spawn } from 'node:child_process';
import { quoteArgv } from '../../lib/quote.ts';

export interface PtyRun {
  /** Everything the terminal showed so far (escape codes included). */
  readonly output: () => string;
  /** Type keys: '\r' is Enter, '\x03' is Ctrl-C. */
  type(keys: string): void;
  /** Resolves once the screen has shown `text` (after `from`, an offset into output()). */
  waitFor(text: string | RegExp, timeoutMs?: number, from?: number): Promise<void>;
  /** The command's exit code (script -e passes it on) and all output, once it has ended. */
  readonly done: Promise<{ exitCode: number | null; output: string }>;
}

export function runInPty(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): PtyRun {
  const child = spawn('script', ['-q', '-f', '-e', '-c', quoteArgv(argv), '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<{ exitCode: number | null; output: string }>((resolve) =>
    child.on('close', (code) => resolve({ exitCode: code, output: text })),
  );
  return {
    output: () => text,
    type: (keys) => {
      child.stdin.write(keys);
    },
    waitFor: (wanted, timeoutMs = 30_000, from = 0) =>
      new Promise<void>((resolve, reject) => {
        const seen = () =>
          typeof wanted === 'string' ? text.indexOf(wanted, from) >= 0 : wanted.test(text.slice(from));
        if (seen()) return resolve();
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`never saw ${String(wanted)} on the terminal; it showed:\n${text.slice(-2000)}`));
        }, timeoutMs);
        const check = () => {
          if (!seen()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        void done.then(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            if (seen()) resolve();
            else reject(new Error(`ended without showing ${String(wanted)}:\n${text.slice(-2000)}`));
          }
        });
      }),
    done,
  };
}

/**
 * A lesson run on a terminal until its shell at the end, where `commands` are typed, each followed by Enter (end
 * with `exit`); resolves when the run has ended. `args` follow the lesson number (`--rootfs DIR`).
 */
export async function lessonShellInPty(
  lesson: string,
  id: string,
  commands: readonly string[],
  args: readonly string[] = [],
): Promise<{ exitCode: number | null; output: string }> {
  const t = runInPty([process.execPath, '--import', 'tsx', 'lib/cli/lesson.ts', lesson, ...args], {
    ...process.env,
    FORCE_COLOR: '0',
    SCRATCH_RUN_ID: id,
    TERM: 'xterm',
  });
  await t.waitFor('Your turn');
  await t.waitFor('[container');
  for (const c of commands) t.type(`${c}\r`);
  return t.done;
}
