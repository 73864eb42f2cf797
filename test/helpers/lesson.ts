/**
 * Run a lesson the way the runner does, without a terminal: real commands, no interactive shell, output kept
 * so a failing test can show what the learner would have seen.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CleanupStack } from '../../lib/cleanup.ts';
import { newRunId, runLesson, type Lesson, type LessonResult, type Mode } from '../../lib/lesson.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { Printer } from '../../lib/output.ts';
import { createRunner } from '../../lib/runner.ts';

export async function runLessonForTest<S>(
  lesson: Lesson<S>,
  opts: { mode?: Mode; rootfs?: string; width?: number; id?: string; impl?: Record<string, unknown> } = {},
): Promise<LessonResult<S> & { output: string; id: string }> {
  const text: string[] = [];
  const id = opts.id ?? newRunId(lesson.number);
  const result = await runLesson(lesson, {
    id,
    runner: createRunner(),
    cleanup: new CleanupStack(),
    out: new Printer({ write: (t) => text.push(t), width: opts.width }),
    mode: opts.mode ?? 'run',
    rootfs: opts.rootfs ?? DEFAULT_ROOTFS,
    shell: false,
    impl: opts.impl,
  });
  return { ...result, output: text.join(''), id };
}

/**
 * A run id for a test's own container: the lesson number and four random hex digits, like a lesson run's, so
 * two test runs at once (two checkouts, a learner in another terminal) never share a cgroup or state dir.
 */
export function testId(prefix: string): string {
  return newRunId(prefix);
}

export type TestRunOptions = NonNullable<Parameters<typeof runLessonForTest>[1]>;

/** A network namespace a test makes to play the host, with lo up (a fresh namespace's is down). */
export interface OwnHostNetns {
  /** Its name, `scrh` and six hex digits: /run/netns/<name>. */
  name: string;
  /** Run a command inside it (iptables, sysctl: under `ip netns exec`). */
  run(argv: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** What a lesson left in it: links named scr…, rules with an scr: comment (either backend), ip_forward on. */
  leftovers(): Promise<string[]>;
  remove(): Promise<void>;
}

export async function createOwnHostNetns(): Promise<OwnHostNetns> {
  const name = `scrh${crypto.randomBytes(3).toString('hex')}`;
  const run = async (argv: readonly string[]) => {
    const r = await execa('ip', ['netns', 'exec', name, ...argv], { reject: false });
    return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
  };
  const netns: OwnHostNetns = {
    name,
    run,
    async leftovers() {
      const links = (await execa('ip', ['-n', name, '-o', 'link', 'show'])).stdout
        .split('\n')
        .map((l) => l.split(/[:@\s]+/)[1] ?? '')
        .filter((n) => n.startsWith('scr'));
      const rules: string[] = [];
      for (const binary of ['iptables-nft-save', 'iptables-legacy-save']) {
        const r = await run([binary]);
        rules.push(
          ...r.stdout
            .split('\n')
            .filter((l) => l.includes('scr:'))
            .map((l) => `${binary}: ${l}`),
        );
      }
      const forward = (await run(['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim();
      return [
        ...links.map((l) => `link ${l}`),
        ...rules.map((r) => `rule ${r}`),
        ...(forward === '0' ? [] : [`sysctl net.ipv4.ip_forward=${forward}`]),
      ];
    },
    async remove() {
      await execa('ip', ['netns', 'delete', name], { reject: false });
    },
  };
  await execa('ip', ['netns', 'add', name]);
  try {
    await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    await netns.remove();
    throw error;
  }
  return netns;
}

const CHILD = path.join(import.meta.dirname, 'lesson-child.ts');
const PROJECT = path.resolve(import.meta.dirname, '../..');

/**
 * Run a lesson as runLessonForTest does, but in a child process whose network namespace is `netns`: the lesson's
 * "host" is that namespace, so its bridge, rules and sysctls never touch the machine's own. The result comes
 * back as JSON: its state holds data only (no live containers). The learner's functions (`impl`) come from a
 * module, `implFile`.
 */
export async function runLessonInNetns<S>(
  lesson: Lesson<S>,
  netns: string,
  opts: Omit<TestRunOptions, 'impl'> & { implFile?: string; exerciseFile?: string } = {},
): Promise<LessonResult<S> & { output: string; id: string }> {
  const id = opts.id ?? newRunId(lesson.number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-lesson-'));
  try {
    const out = path.join(dir, 'result.json');
    const r = await execa(
      'nsenter',
      [
        `--net=/run/netns/${netns}`,
        '--',
        process.execPath,
        '--import',
        'tsx',
        CHILD,
        lesson.number,
        JSON.stringify({ ...opts, id }),
        out,
      ],
      { cwd: PROJECT, reject: false, env: { FORCE_COLOR: '0' } },
    );
    if (!fs.existsSync(out))
      throw new Error(`lesson ${lesson.number} in ${netns} failed (${r.exitCode}):\n${r.stderr}`);
    const parsed = JSON.parse(fs.readFileSync(out, 'utf8')) as LessonResult<S> & {
      output: string;
      id: string;
      thrown?: { name: string; message: string };
    };
    if (parsed.thrown) throw Object.assign(new Error(parsed.thrown.message), { name: parsed.thrown.name });
    return parsed;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Run a lesson for a test where it is safe to: a lesson that changes the host's network (changesHostNetwork) in
 * a network namespace made for this run and removed after it — with what it left there in `leftInHost` —, any
 * other lesson in this process. Explaining runs nothing, so it always runs here.
 */
export async function runLessonSafely<S>(
  lesson: Lesson<S>,
  opts: TestRunOptions = {},
): Promise<LessonResult<S> & { output: string; id: string; leftInHost: string[] }> {
  if (!lesson.changesHostNetwork || opts.mode === 'explain') {
    return { ...(await runLessonForTest(lesson, opts)), leftInHost: [] };
  }
  const { impl, ...rest } = opts;
  if (impl) throw new Error(`lesson ${lesson.number} runs in a child process: give its functions as implFile`);
  const netns = await createOwnHostNetns();
  try {
    const r = await runLessonInNetns(lesson, netns.name, rest);
    return { ...r, leftInHost: await netns.leftovers() };
  } finally {
    await netns.remove();
  }
}
