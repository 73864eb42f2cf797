/**
 * Running a learner's exercise functions safely: type-checked first, then called in a worker thread with a time
 * limit, so a mistake is one clear line — never a stack trace, never a hung lesson.
 *
 * A lesson calls the learner's function exactly where it would call lib's, synchronously (`ctx.use(fn)(…)`).
 * The function itself runs in a worker thread that loaded the learner's file; the lesson's thread posts the
 * arguments and waits on a shared flag with a timeout (Atomics.wait), then takes the answer off the message port.
 * A function stuck in a loop cannot block the lesson: after the time limit the worker is terminated and the
 * lesson stops with that line, cleaning up as on any error. Arguments and results are plain data (structured
 * clone), which is why every exercise function takes and returns plain data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from './bundle.ts';
import { UserError } from './errors.ts';

/** A mistake in the learner's file: one line that names the file and line, and what to do. */
export class ExerciseError extends UserError {
  constructor(message: string, fix: string) {
    super(message, fix);
    this.name = 'ExerciseError';
  }
}

const rel = (file: string) => path.relative(PROJECT_ROOT, file);

/** TypeScript's own diagnostics for the learner's file, as `file:line:col: message` lines (empty: it compiles). */
export async function typecheck(file: string): Promise<string[]> {
  const ts = (await import('typescript')).default;
  const options = {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: ['node'],
  };
  const program = ts.createProgram([file], options);
  const diagnostics = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  return diagnostics
    .filter((d) => d.file && path.resolve(d.file.fileName) === path.resolve(file))
    .map((d) => {
      const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${rel(file)}:${line + 1}:${character + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
}

/** Where in the learner's file an error was thrown: `exercises/01-chroot.ts:14`, from its stack. */
export function locate(stack: string | undefined, file: string): string {
  const line = (stack ?? '').split('\n').find((l) => l.includes(file));
  const m = line ? /:(\d+):\d+\)?$/.exec(line) : null;
  return m ? `${rel(file)}:${m[1]}` : rel(file);
}

export interface LoadedExercise {
  /** The learner's functions by name, callable synchronously as lib's are. */
  impl: Record<string, (...args: unknown[]) => unknown>;
  close(): Promise<void>;
}

export interface LoadOptions {
  /** The most a single call may take before it counts as hung. */
  timeoutMs?: number;
  /** The most loading the file (compiling it and running its top level) may take. */
  loadTimeoutMs?: number;
  /** What the learner reads to get unstuck: `npm run exercise 01 -- --hint`. */
  hintCommand: string;
  shape?: Record<string, (value: unknown) => string | undefined>;
}

/**
 * The worker's first lines: register tsx's loader in that thread (a worker does not inherit the one the lesson
 * runner was started with), then load exercise-worker.ts, which loads the learner's file.
 */
function bootCode(): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  // From the project root, not from this module: run compiled, this module is a chunk in dist/.
  const entry = pathToFileURL(path.join(PROJECT_ROOT, 'lib', 'exercise-worker.ts')).href;
  return [
    '(async () => {',
    `  const { register } = await import(${JSON.stringify(tsx)});`,
    '  register();',
    `  await import(${JSON.stringify(entry)});`,
    "})().catch((e) => require('node:worker_threads').parentPort.postMessage({ error: { message: String(e) } }));",
  ].join('\n');
}

/**
 * Type-check the learner's file, load it in a worker, and check it exports each function by name. Every failure
 * is an ExerciseError; nothing of the lesson has run yet.
 */
export async function loadExercise(file: string, names: string[], opts: LoadOptions): Promise<LoadedExercise> {
  const fix = `edit ${rel(file)}, then try again   (${opts.hintCommand})`;
  if (!fs.existsSync(file)) throw new ExerciseError(`${rel(file)} does not exist`, opts.hintCommand);
  const problems = await typecheck(file);
  if (problems.length > 0) {
    throw new ExerciseError(`${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, fix);
  }
  const worker = new Worker(bootCode(), { eval: true, workerData: { file }, stdout: false, stderr: false });
  worker.unref();
  const timeoutMs = opts.timeoutMs ?? 3000;
  // Loading gets its own limit (tsx compiles the file first, so a generous one): a loop or an await that never
  // ends at the top of the file would otherwise hang the lesson before it starts.
  const loadLimitMs = opts.loadTimeoutMs ?? 20_000;
  let loadTimer: NodeJS.Timeout | undefined;
  const exported = await new Promise<string[]>((resolve, reject) => {
    worker.once('message', (m: { exported?: string[]; error?: { message: string; stack?: string } }) =>
      m.error
        ? reject(new ExerciseError(`${locate(m.error.stack, file)}: ${m.error.message}`, fix))
        : resolve(m.exported ?? []),
    );
    worker.once('error', (e) => reject(new ExerciseError(`${rel(file)}: ${e.message}`, fix)));
    loadTimer = setTimeout(() => {
      void worker.terminate();
      reject(
        new ExerciseError(
          `${rel(file)}: loading it took more than ${loadLimitMs / 1000} s — a loop or a wait at its top level?`,
          fix,
        ),
      );
    }, loadLimitMs);
  }).finally(() => clearTimeout(loadTimer));
  const missing = names.filter((n) => !exported.includes(n));
  if (missing.length > 0) {
    await worker.terminate();
    throw new ExerciseError(`${rel(file)} exports no function ${missing.join(', ')}`, fix);
  }
  let dead = false;
  const call = (name: string, args: unknown[]): unknown => {
    if (dead) throw new ExerciseError(`${rel(file)}: stopped after an earlier hang`, fix);
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ name, args, flag, port: port2 }, [port2]);
    if (Atomics.wait(flag, 0, 0, timeoutMs) === 'timed-out') {
      dead = true;
      void worker.terminate();
      throw new ExerciseError(
        `${rel(file)}: ${name}() ran for more than ${timeoutMs / 1000} s — an endless loop?`,
        fix,
      );
    }
    const reply = receiveMessageOnPort(port1)?.message as
      { ok: true; value: unknown } | { ok: false; error: { message: string; stack?: string } } | undefined;
    port1.close();
    if (!reply) throw new ExerciseError(`${rel(file)}: ${name}() gave no answer`, fix);
    if (!reply.ok) throw new ExerciseError(`${locate(reply.error.stack, file)}: ${reply.error.message}`, fix);
    const wrong = opts.shape?.[name]?.(reply.value);
    if (wrong) throw new ExerciseError(`${rel(file)}: ${wrong}`, fix);
    return reply.value;
  };
  return {
    impl: Object.fromEntries(names.map((n) => [n, (...args: unknown[]) => call(n, args)])),
    close: async () => {
      if (!dead) await worker.terminate();
    },
  };
}
