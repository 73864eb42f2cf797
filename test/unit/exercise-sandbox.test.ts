/**
 * A learner's file that does not compile, throws, returns the wrong shape, hangs or lacks a function: each is one
 * line that names the file (and line), never a stack trace, never a hung lesson.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { argvShape, EXERCISES_DIR, functionSource } from '../../lib/exercise.ts';
import { ExerciseError, loadExercise } from '../../lib/exercise-sandbox.ts';

// Inside the project, as a learner's file is: its package.json makes .ts files ES modules.
const dir = fs.mkdtempSync(path.join(EXERCISES_DIR, '.test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const opts = { hintCommand: 'npm run exercise 01 -- --hint', shape: { chrootArgv: argvShape('chrootArgv') } };
const oneLine = (e: unknown) => e instanceof ExerciseError && !e.message.includes('\n');

describe('loading a learner’s exercise', () => {
  it('a correct file: its function runs in the worker and answers synchronously', async () => {
    const file = write(
      'ok.ts',
      'export function chrootArgv(r: string, c: readonly string[]): string[] { return ["chroot", r, ...c]; }\n',
    );
    const ex = await loadExercise(file, ['chrootArgv'], opts);
    try {
      expect(ex.impl.chrootArgv?.('/r', ['ls'])).toEqual(['chroot', '/r', 'ls']);
    } finally {
      await ex.close();
    }
  });

  it('a type error is TypeScript’s own diagnostic, with file, line and column', async () => {
    const file = write('bad.ts', 'export function chrootArgv(r: string): string[] {\n  return r;\n}\n');
    const e = await loadExercise(file, ['chrootArgv'], opts).catch((x: unknown) => x);
    expect(oneLine(e)).toBe(true);
    expect((e as Error).message).toMatch(/bad\.ts:2:3: Type 'string' is not assignable to type 'string\[\]'/);
  });

  it('a function that throws: the line it threw on, and the message', async () => {
    const file = write(
      'throws.ts',
      'export function chrootArgv(): string[] {\n  throw new Error("TODO: not yet");\n}\n',
    );
    const ex = await loadExercise(file, ['chrootArgv'], opts);
    try {
      const e = (() => {
        try {
          ex.impl.chrootArgv?.();
        } catch (x) {
          return x;
        }
      })();
      expect(oneLine(e)).toBe(true);
      expect((e as Error).message).toMatch(/throws\.ts:2: TODO: not yet$/);
      expect((e as ExerciseError).fix).toContain('npm run exercise 01 -- --hint');
    } finally {
      await ex.close();
    }
  });

  it('a result of the wrong shape is refused before the lesson uses it', async () => {
    const file = write('shape.ts', 'export function chrootArgv(): string { return "chroot /r ls"; }\n');
    const ex = await loadExercise(file, ['chrootArgv'], opts);
    try {
      expect(() => ex.impl.chrootArgv?.()).toThrow(/chrootArgv must return an array of strings/);
    } finally {
      await ex.close();
    }
  });

  it('an endless loop is stopped after the time limit, in one line', async () => {
    const file = write('hang.ts', 'export function chrootArgv(): string[] { for (;;) { /* forever */ } }\n');
    const ex = await loadExercise(file, ['chrootArgv'], { ...opts, timeoutMs: 500 });
    const started = Date.now();
    expect(() => ex.impl.chrootArgv?.()).toThrow(/chrootArgv\(\) ran for more than 0.5 s — an endless loop\?/);
    expect(Date.now() - started).toBeLessThan(5000);
    await ex.close();
  });

  it('a file that never finishes loading (a loop at its top level) is stopped too, in one line', async () => {
    const file = write(
      'toplevel.ts',
      'while (Date.now() > 0) { /* forever */ }\nexport function chrootArgv(): string[] { return []; }\n',
    );
    const e = await loadExercise(file, ['chrootArgv'], { ...opts, loadTimeoutMs: 3000 }).catch((x: unknown) => x);
    expect(oneLine(e)).toBe(true);
    expect((e as Error).message).toMatch(/toplevel\.ts: loading it took more than 3 s — a loop or a wait/);
  });

  it('a missing function is named', async () => {
    const file = write('none.ts', 'export function other(): number { return 1; }\n');
    await expect(loadExercise(file, ['chrootArgv'], opts)).rejects.toThrow(/exports no function chrootArgv/);
  });
});

describe('functionSource', () => {
  it('finds an exported function with its doc comment, braces balanced', () => {
    const src =
      '/** one */\nexport function a(x: string): string {\n  if (x) { return x; }\n  return "";\n}\nexport function b() {}\n';
    expect(functionSource(src, 'a')).toBe(
      '/** one */\nexport function a(x: string): string {\n  if (x) { return x; }\n  return "";\n}',
    );
    expect(functionSource(src, 'c')).toBeUndefined();
  });
});
