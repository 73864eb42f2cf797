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

/** Without a terminal (piped input) a line is read instead: empty runs the step, "q" stops. */
async function pauseFromLine(message: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  process.stdout.write(`${message}\n`);
  const line = await new Promise<string | undefined>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(undefined));
  });
  rl.close();
  return line !== undefined && line.trim().toLowerCase() !== 'q';
}

export async function pause(index: number, total: number): Promise<boolean> {
  const message = `Step ${index}/${total}: press Enter to run it, q to stop`;
  if (!process.stdin.isTTY) return pauseFromLine(message);
  try {
    // The answered prompt is cleared: on a projector, the step's output should follow its commands directly.
    return await pausePrompt({ message }, { clearPromptOnDone: true });
  } catch {
    // Ctrl-C inside the prompt: inquirer rejects with an ExitPromptError; treat it as "stop".
    return false;
  }
}
