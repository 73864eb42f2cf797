/**
 * The pause before each step in --step mode: Enter runs the step, q (or Esc) stops the lesson cleanly, Ctrl-C
 * interrupts it (exit 130, as Ctrl-C anywhere else). One key, no typing, so an instructor can drive a demo
 * with one hand.
 */
import { createPrompt, isEnterKey, makeTheme, useKeypress, usePrefix, useState, type Status } from '@inquirer/core';
import { promptTheme, wantsColor } from '../output.ts';
import type { PauseAnswer } from '../lesson.ts';
import { lineReader, type NextLine } from './lines.ts';

export const pausePrompt = createPrompt<boolean, { message: string }>((config, done) => {
  const [status, setStatus] = useState<Status>('idle');
  const theme = makeTheme(promptTheme(wantsColor(process.stdout)));
  const prefix = usePrefix({ status, theme });
  useKeypress((key) => {
    if (isEnterKey(key)) {
      setStatus('done');
      done(true);
    } else if (key.name === 'q' || key.name === 'escape') {
      setStatus('done');
      done(false);
    }
  });
  return `${prefix} ${theme.style.message(config.message, status)}`;
});

/**
 * The pause for --step mode: a one-key prompt at a terminal, a line of input otherwise (empty runs the step, "q"
 * stops, and so does the end of the input). Ctrl-C at the prompt is an interrupt, as anywhere else in a lesson.
 */
export function createPause(nextLine?: NextLine): (index: number, total: number) => Promise<PauseAnswer> {
  const message = (index: number, total: number) => `Step ${index}/${total}: press Enter to run it, q to stop`;
  if (process.stdin.isTTY) {
    return async (index, total) => {
      try {
        // The answered prompt is cleared: on a projector, the step's output should follow its commands directly.
        const run = await pausePrompt({ message: message(index, total) }, { clearPromptOnDone: true });
        return run ? 'run' : 'stop';
      } catch (error) {
        // Ctrl-C inside the prompt: the terminal is in raw mode, so no SIGINT; inquirer rejects instead.
        if (error instanceof Error && error.name === 'ExitPromptError') return 'interrupt';
        throw error;
      }
    };
  }
  const read = nextLine ?? lineReader(process.stdin);
  return async (index, total) => {
    process.stdout.write(`${message(index, total)}\n`);
    const line = await read();
    return line !== undefined && line.trim().toLowerCase() !== 'q' ? 'run' : 'stop';
  };
}
