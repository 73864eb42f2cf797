/**
 * The pause before each step in --step mode: Enter runs the step, q (or Esc, or Ctrl-C) stops the lesson
 * cleanly. One key, no typing, so an instructor can drive a demo with one hand.
 */
import readline from 'node:readline';
import { createPrompt, isEnterKey, useKeypress, usePrefix, useState, type Status } from '@inquirer/core';

export const pausePrompt = createPrompt<boolean, { message: string }>((config, done) => {
  const [status, setStatus] = useState<Status>('idle');
  const prefix = usePrefix({ status });
  useKeypress((key) => {
    if (isEnterKey(key)) {
      setStatus('done');
      done(true);
    } else if (key.name === 'q' || key.name === 'escape') {
      setStatus('done');
      done(false);
    }
  });
  return `${prefix} ${config.message}`;
});

/**
 * Without a terminal (piped input) a line is read instead: empty runs the step, "q" stops, and so does the end
 * of the input. One reader serves every pause: a reader per pause would swallow the lines buffered after its
 * own, and the next pause would find the input already at its end.
 */
function lineReader(): () => Promise<string | undefined> {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  const buffered: string[] = [];
  let closed = false;
  let waiting: ((line: string | undefined) => void) | undefined;
  const deliver = (line: string | undefined) => {
    const w = waiting;
    waiting = undefined;
    w?.(line);
  };
  rl.on('line', (line) => (waiting ? deliver(line) : buffered.push(line)));
  rl.on('close', () => {
    closed = true;
    deliver(undefined);
  });
  return () =>
    buffered.length > 0
      ? Promise.resolve(buffered.shift())
      : closed
        ? Promise.resolve(undefined)
        : new Promise((resolve) => (waiting = resolve));
}

/** The pause for --step mode: a one-key prompt at a terminal, a line of input otherwise. */
export function createPause(): (index: number, total: number) => Promise<boolean> {
  const message = (index: number, total: number) => `Step ${index}/${total}: press Enter to run it, q to stop`;
  if (process.stdin.isTTY) {
    return async (index, total) => {
      try {
        // The answered prompt is cleared: on a projector, the step's output should follow its commands directly.
        return await pausePrompt({ message: message(index, total) }, { clearPromptOnDone: true });
      } catch {
        // Ctrl-C inside the prompt: inquirer rejects with an ExitPromptError; treat it as "stop".
        return false;
      }
    };
  }
  const nextLine = lineReader();
  return async (index, total) => {
    process.stdout.write(`${message(index, total)}\n`);
    const line = await nextLine();
    return line !== undefined && line.trim().toLowerCase() !== 'q';
  };
}
