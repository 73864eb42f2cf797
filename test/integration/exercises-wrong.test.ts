/**
 * Wrong answers: for each lesson's exercise, the mistakes learners really make, run with --mine as a learner's
 * file (type-checked, loaded in a worker). Each must fail the lesson's own checks in a way that teaches: the
 * failing check says what it expected, what the host showed, and which hint to read — no stack trace — and it
 * must be safe: nothing of the run is left on the host, and the host's hostname never changes.
 *
 * Every lesson runs in a child process with a UTS namespace of its own (unshare --uts): a wrong answer that
 * reached sethostname or `hostname NEW` would rename that namespace, never this machine — and the lesson's own
 * "host" hostname, read in there, shows whether the lesson let it happen.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLessonFile, loadLesson } from '../../lib/discovery.ts';
import { PROJECT_ROOT } from '../../lib/bundle.ts';
import { EXERCISES_DIR, gradeLines, hintCommand, stepFailure, type Exercise } from '../../lib/exercise.ts';
import type { Check, LessonResult } from '../../lib/lesson.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { readMountinfo } from '../../lib/mountinfo.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { createOwnHostNetns, runLessonInNetns, testId } from '../helpers/lesson.ts';

const CHILD = path.join(import.meta.dirname, '../helpers/lesson-child.ts');
const PROJECT = path.resolve(import.meta.dirname, '../..');

type Result = LessonResult<Record<string, unknown>> & { output: string; id: string };

/** A learner's file with this text, where a learner's copy lives (so its `../lib/` imports resolve). */
function learnerFile(name: string, text: string): string {
  const file = path.join(EXERCISES_DIR, `.wrong-${name}-${process.pid}.ts`);
  fs.writeFileSync(file, text);
  return file;
}

/**
 * Run lesson `number` with the learner's file, as --mine does, in a child process in a new UTS namespace. A
 * refusal of the file itself (ExerciseError) comes back as `thrown`.
 */
async function runMine(
  number: string,
  exerciseFile: string,
  id: string,
  shell?: string | null,
): Promise<Result | { thrown: { name: string; message: string } }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-wrong-'));
  try {
    const out = path.join(dir, 'result.json');
    const r = await execa(
      'unshare',
      ['--uts', '--', process.execPath, '--import', 'tsx', CHILD, number, JSON.stringify({ id, exerciseFile }), out],
      { cwd: PROJECT, reject: false, extendEnv: false, env: childEnv(shell) },
    );
    if (!fs.existsSync(out)) throw new Error(`lesson ${number} child failed (${r.exitCode}):\n${r.stderr}`);
    return JSON.parse(fs.readFileSync(out, 'utf8')) as Result | { thrown: { name: string; message: string } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** This process's environment for the lesson's child, without colour, with the SHELL asked for (undefined: as is). */
function childEnv(shell: string | null | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  if (shell === null) delete env.SHELL;
  else if (shell !== undefined) env.SHELL = shell;
  return env;
}

/** The lines the lesson printed under a failing check: expected, seen on the host, read hint N. */
function gradingOf(output: string, claim: string): string {
  const lines = output.split('\n');
  const at = lines.findIndex((l) => l.includes('✘') && l.includes(claim.slice(0, 40)));
  if (at < 0) return '';
  const rest = lines.slice(at + 1);
  const end = rest.findIndex((l) => !/^\s{4}/.test(l));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n').replace(/\n\s+(?!→)/g, ' ');
}

interface WrongAnswer {
  lesson: string;
  /** The mistake, as the test's name says it. */
  mistake: string;
  /** The learner's file. */
  text: string;
  /** A failing check's claim (a piece of it), and the hint that failing check must point at. */
  failing: RegExp;
  hint: number;
  /** What its "seen on the host" line must say. */
  seen: RegExp;
  /** The learner's SHELL for this run (null: none), where the lesson's behaviour depends on it. */
  shell?: string | null;
  /** More to prove about this run (its state, the host). */
  also?: (r: Result) => void;
}

const SPEC = "import type { ContainerSpec } from '../lib/spec.ts';\n";

const WRONG: WrongAnswer[] = [
  // chroot with no command runs $SHELL -i, so what the learner sees depends on their SHELL: both are pinned here.
  {
    lesson: '01',
    mistake: 'chrootArgv without the command after the root, with a SHELL the rootfs lacks (/bin/bash)',
    text: 'export function chrootArgv(rootfs: string, command: readonly string[]): string[] {\n  void command;\n  return ["chroot", rootfs];\n}\n',
    shell: '/bin/bash',
    failing: /step 2, “ls \/ inside the chroot”|ls \/ inside the chroot lists the rootfs/,
    hint: 2,
    seen: /exited with 127: chroot/,
  },
  {
    lesson: '01',
    mistake:
      'chrootArgv without the command after the root, with no SHELL (chroot runs /bin/sh -i, which reads no input)',
    text: 'export function chrootArgv(rootfs: string, command: readonly string[]): string[] {\n  void command;\n  return ["chroot", rootfs];\n}\n',
    shell: null,
    failing: /ls \/ inside the chroot lists the rootfs/,
    hint: 2,
    seen: /ls \/ printed (nothing|BusyBox)/,
  },
  {
    lesson: '02',
    mistake: 'addUtsIpc that sets the hostname without a UTS namespace (it would rename the host: refused)',
    text:
      SPEC +
      'export function addUtsIpc(spec: ContainerSpec, hostname: string): ContainerSpec {\n' +
      '  return { ...spec, hostname, linux: { ...spec.linux, namespaces: [...spec.linux.namespaces, { type: "ipc" }] },\n' +
      '    process: { ...spec.process, env: [...spec.process.env, `HOSTNAME=${hostname}`] } };\n}\n',
    failing: /step 1, “Start the container under unshare”, ran to the end/,
    hint: 1,
    seen: /needs a UTS namespace, or it would rename the host/,
  },
  {
    lesson: '02',
    mistake: 'addUtsIpc that forgets the UTS namespace and the hostname (the rename step must not reach the host)',
    text:
      SPEC +
      'export function addUtsIpc(spec: ContainerSpec, hostname: string): ContainerSpec {\n' +
      '  return { ...spec, linux: { ...spec.linux, namespaces: [...spec.linux.namespaces, { type: "ipc" }] },\n' +
      '    process: { ...spec.process, env: [...spec.process.env, `HOSTNAME=${hostname}`] } };\n}\n',
    failing: /exactly the uts and ipc namespaces are new/,
    hint: 1,
    seen: /new links for ipc$|new links for ipc\s+→/,
    also: (r) => {
      const s = r.state as { hostHostnameBefore?: string; hostHostnameAfter?: string; renamedTo?: string };
      expect(s.hostHostnameAfter).toBe(s.hostHostnameBefore);
      expect(r.output).toMatch(/shares the host’s UTS namespace/);
    },
  },
  {
    lesson: '03',
    mistake: 'unshareArgvFor without --fork: the init is not PID 1',
    text:
      SPEC +
      "import type { Executor } from '../lib/init/plan.ts';\n" +
      "export { addPidNamespace } from '../lib/kit.ts';\n" +
      'const FLAG: Record<string, string> = { mount: "--mount", uts: "--uts", ipc: "--ipc", pid: "--pid", network: "--net", user: "--user", cgroup: "--cgroup" };\n' +
      'export function unshareArgvFor(spec: ContainerSpec, executor: Executor): string[] {\n  void executor;\n' +
      '  return ["unshare", ...spec.linux.namespaces.filter((n) => !n.path).map((n) => FLAG[n.type] ?? ""), "--"];\n}\n',
    // Without --fork the script itself is no member of the new PID namespace; its first child becomes PID 1 and
    // exits, and the namespace, left without an init, refuses every fork after: the script stops at once.
    failing: /step 1, “Start the container in a PID namespace”/,
    hint: 2,
    seen: /Cannot fork/,
  },
  {
    lesson: '03',
    mistake: 'addPidNamespace without the /proc mount: ps inside lists the host’s processes',
    text:
      SPEC +
      "export { unshareArgvFor } from '../lib/container/launch.ts';\n" +
      'export function addPidNamespace(spec: ContainerSpec): ContainerSpec {\n' +
      '  return { ...spec, linux: { ...spec.linux, namespaces: [...spec.linux.namespaces, { type: "pid" }, { type: "mount" }] } };\n}\n',
    failing: /ps inside lists only the container’s few processes/,
    hint: 1,
    seen: /inside vs/,
  },
  {
    lesson: '04',
    mistake: 'rootMountOps without private propagation: its mounts leak to the host, and are cleaned up',
    text:
      "import type { InitOp } from '../lib/init/ops.ts';\n" +
      "export { pivotRootOps } from '../lib/init/plan.ts';\n" +
      'export function rootMountOps(root: string): InitOp[] {\n' +
      '  return [{ op: "mount", source: root, target: root, fstype: null, flags: ["MS_BIND", "MS_REC"], data: "" }];\n}\n',
    failing: /after the init’s first lines/,
    hint: 2,
    seen: /mounts there \(.*scr\w+-private.*\): they propagated out to the host/,
    also: (r) => {
      // The leak happened — the check saw it on the host — and the lesson's cleanup took it away.
      expect((r.state as { privateLeaks?: string[] }).privateLeaks?.length).toBeGreaterThan(0);
      expect(readMountinfo().filter((m) => m.mountPoint.includes(r.id))).toEqual([]);
    },
  },
  {
    lesson: '04',
    mistake: 'rootMountOps without the bind: pivot_root refuses a root that is not a mount point',
    text:
      "import type { InitOp } from '../lib/init/ops.ts';\n" +
      "export { pivotRootOps } from '../lib/init/plan.ts';\n" +
      'export function rootMountOps(root: string): InitOp[] {\n  void root;\n  return [{ op: "makePrivate" }];\n}\n',
    failing: /step 2, “pivot_root: the rootfs becomes \/”, ran to the end/,
    hint: 2,
    seen: /pivot_root/,
  },
  {
    lesson: '05',
    mistake: 'v1LimitWrites with the memory limit in MiB, not bytes',
    text:
      "import type { CgroupOp } from '../lib/cgroups/index.ts';\n" +
      "import type { Limits } from '../lib/cgroups/limits.ts';\n" +
      "import { v1LimitWrites as lib } from '../lib/cgroups/v1.ts';\n" +
      "export { v2LimitWrites } from '../lib/cgroups/v2.ts';\n" +
      'export function v1LimitWrites(dirs: { memory?: string; pids?: string; cpu?: string }, limits: Limits): CgroupOp[] {\n' +
      '  return lib(dirs, limits).map((w) => w.kind === "write" && /memory\\./.test(w.path) ? { ...w, value: String(Math.round(Number(w.value) / 1048576)) } : w);\n}\n',
    failing: /limit files hold/,
    hint: 2,
    seen: /memory\.limit_in_bytes/,
  },
  {
    lesson: '05',
    mistake: 'v1LimitWrites that writes v2’s file names (memory.max) in v1 directories',
    text:
      "import type { CgroupOp } from '../lib/cgroups/index.ts';\n" +
      "import type { Limits } from '../lib/cgroups/limits.ts';\n" +
      "import { v2LimitWrites } from '../lib/cgroups/v2.ts';\n" +
      "export { v2LimitWrites } from '../lib/cgroups/v2.ts';\n" +
      'export function v1LimitWrites(dirs: { memory?: string; pids?: string; cpu?: string }, limits: Limits): CgroupOp[] {\n' +
      '  return dirs.memory ? v2LimitWrites(dirs.memory, { memory: limits.memory }) : [];\n}\n',
    failing: /ran to the end|limit files hold/,
    hint: 1,
    seen: /memory\.max/,
  },
  {
    lesson: '09',
    mistake: 'uidMapLines with outside and inside swapped: newuidmap refuses the map',
    text:
      'export function uidMapLines(hostId: number, sub?: { start: number; count: number }): string[] {\n' +
      '  return [`${hostId} 0 1`, ...(sub ? [`${sub.start} 1 ${sub.count}`] : [])];\n}\n',
    failing: /step 2, “The maps, written by hand: setgroups first”, ran to the end/,
    hint: 1,
    // The kernel refuses a map that gives an unprivileged user any id but their own; the step shows its write.
    seen: /it stopped: command exited with \d+: .*newuidmap \d+ \d+ 0 1/,
  },
  {
    lesson: '10',
    mistake: 'execArgvFor that forgets --pid: the exec is not in the container’s PID namespace',
    text:
      SPEC +
      "import type { TsInit } from '../lib/container/launch.ts';\n" +
      'const ORDER: Array<[string, string]> = [["user", "--user"], ["cgroup", "--cgroup"], ["ipc", "--ipc"], ["uts", "--uts"], ["network", "--net"], ["mount", "--mount"]];\n' +
      'export function execArgvFor(spec: ContainerSpec, targetPid: number | string, init: TsInit): string[] {\n' +
      '  const types = spec.linux.namespaces.map((n) => n.type as string);\n' +
      '  const flags = ORDER.filter(([t]) => types.includes(t)).map(([, f]) => f);\n' +
      '  return ["env", "-i", "nsenter", "--target", String(targetPid), ...flags, "--root=/", "--wd=/", "--", init.node, init.bundle];\n}\n',
    failing: /the exec had the same namespaces/,
    hint: 1,
    seen: /the exec differs in pid namespace$|the exec differs in pid namespace\s+→/,
  },
];

describe.skipIf(!canRunIntegration)('exercises: a wrong answer fails its lesson clearly, and safely', () => {
  for (const w of WRONG) {
    it(`lesson ${w.lesson}: ${w.mistake}`, async () => {
      const file = findLessonFile(w.lesson);
      const lesson = file && (await loadLesson(file));
      expect(lesson?.exercise).toBeDefined();
      const hostname = os.hostname();
      const mine = learnerFile(`${w.lesson}-${WRONG.indexOf(w)}`, w.text);
      const id = testId(w.lesson);
      try {
        const r = await runMine(w.lesson, mine, id, w.shell);
        if ('thrown' in r)
          throw new Error(`the lesson threw instead of grading: ${r.thrown.name}: ${r.thrown.message}`);
        expect(r.ok).toBe(false);
        const failed = r.checks.filter((c: Check) => !c.ok);
        const check = failed.find((c) => w.failing.test(c.claim));
        expect(check, `failing checks: ${failed.map((c) => c.claim).join(' | ')}\n${r.output}`).toBeDefined();
        const grading = gradingOf(r.output, check!.claim);
        expect(grading, r.output).toMatch(/→ expected: \S/);
        expect(grading).toMatch(/→ seen on the host: \S/);
        expect(grading).toMatch(w.seen);
        expect(grading).toContain(`→ read hint ${w.hint}: ${hintCommand(w.lesson, w.hint)}`);
        expect(r.output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
        w.also?.(r);
      } finally {
        fs.rmSync(mine, { force: true });
      }
      expect(await leftoversOf(id)).toEqual([]);
      expect(os.hostname()).toBe(hostname);
    });
  }

  it('lesson 12: specFromOptions that forgets -m: the host sees no memory limit, and the check says so', async () => {
    // Lesson 12 changes the host's network, so it runs in a network namespace made for it (as exercises.test does).
    const lesson = await loadLesson(findLessonFile('12')!);
    const mine = learnerFile(
      '12-memory',
      "import { specFromOptions as lib, type RunOptions } from '../lib/ctr/run-spec.ts';\n" +
        "import type { ContainerSpec } from '../lib/spec.ts';\n" +
        '// The learner passed every flag on but -m.\n' +
        'export function specFromOptions(o: RunOptions): ContainerSpec {\n  return lib({ ...o, memory: undefined });\n}\n',
    );
    const id = testId('12');
    const netns = await createOwnHostNetns();
    try {
      const r = await runLessonInNetns(lesson, netns.name, { id, exerciseFile: mine });
      expect(r.ok).toBe(false);
      const failed = r.checks.filter((c: Check) => !c.ok).map((c) => c.claim);
      expect(failed, r.output).toEqual(
        expect.arrayContaining([expect.stringMatching(/your specFromOptions was the one ctr run made/)]),
      );
      // Everything ctr itself did still passed: only the learner's part is marked.
      expect(
        failed.every((c) => /specFromOptions|what the flags asked/.test(c)),
        failed.join(' | '),
      ).toBe(true);
      const grading = gradingOf(r.output, failed[0]!);
      expect(grading, r.output).toMatch(/→ expected: \S/);
      expect(grading).toMatch(/→ seen on the host: .*(memory|48m|50331648)/s);
      expect(grading).toMatch(/→ read hint \d: npm run exercise 12 -- --hint \d/);
      expect(r.output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(await netns.leftovers()).toEqual([]);
    } finally {
      fs.rmSync(mine, { force: true });
      await netns.remove();
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('lesson 10: execArgvFor without --target is refused before anything runs, in one line', async () => {
    const mine = learnerFile(
      '10-target',
      SPEC +
        "import type { TsInit } from '../lib/container/launch.ts';\n" +
        'export function execArgvFor(spec: ContainerSpec, targetPid: number | string, init: TsInit): string[] {\n' +
        '  void targetPid; void spec;\n' +
        '  return ["env", "-i", "nsenter", "--user", "--pid", "--mount", "--root=/", "--wd=/", "--", init.node, init.bundle];\n}\n',
    );
    const id = testId('10');
    try {
      const r = await runMine('10', mine, id);
      expect('thrown' in r && r.thrown.name).toBe('ExerciseError');
      const message = 'thrown' in r ? r.thrown.message : '';
      expect(message).toMatch(/execArgvFor must return env -i nsenter --target PID/);
      expect(message.split('\n')).toHaveLength(1);
    } finally {
      fs.rmSync(mine, { force: true });
    }
    expect(await leftoversOf(id)).toEqual([]);
  });
});

describe('how a failing check reads with --mine', () => {
  const ex = { hints: ['one', 'two', 'three'] } as Exercise;

  it('says expected, seen and the hint it names, as a command that shows that hint', () => {
    const lines = gradeLines({ claim: 'c', expected: 'e', seen: 's', hint: 2 }, '04', ex);
    expect(lines).toEqual(['expected: e', 'seen on the host: s', 'read hint 2: npm run exercise 04 -- --hint 2']);
  });

  it('without its own words, the claim is what was expected, the detail what was seen, and hint 1 is named', () => {
    const lines = gradeLines({ claim: 'the kernel is the host’s', detail: '6.1.0' }, '01', ex);
    expect(lines).toEqual([
      'expected: the kernel is the host’s',
      'seen on the host: 6.1.0',
      'read hint 1: npm run exercise 01 -- --hint 1',
    ]);
  });

  it('a hint number beyond the exercise’s hints names its last one', () => {
    expect(gradeLines({ claim: 'c', hint: 7 }, '02', ex)[2]).toBe('read hint 3: npm run exercise 02 -- --hint 3');
  });

  it('a step stopped by a failed command reads as that command and what it said, on one line', () => {
    const error = new Error('command exited with 1: newuidmap 42 0 1000 1\n  stderr: newuidmap: range not allowed');
    const check = stepFailure(1, { title: 'The maps', hint: 1 }, error);
    expect(check.ok).toBe(false);
    expect(check.claim).toBe('step 2, “The maps”, ran to the end with your code');
    expect(check.seen).toBe(
      'it stopped: command exited with 1: newuidmap 42 0 1000 1 — stderr: newuidmap: range not allowed',
    );
  });
});

describe.skipIf(!canRunIntegration)('npm run exercise with a wrong answer', () => {
  // A directory of the test's own, directly in the project as exercises/ is (its copies import ../lib/).
  // Made in beforeAll, not while the file is collected: a run that filters these tests out runs no hooks.
  let dir = '';
  let progress = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.scr-exercises-'));
    progress = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scr-progress-')), 'progress.json');
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (progress) fs.rmSync(path.dirname(progress), { recursive: true, force: true });
  });
  const exercise = (args: string[], id = testId('01')) =>
    execa(process.execPath, ['--import', 'tsx', 'lib/cli/exercise.ts', ...args], {
      cwd: PROJECT_ROOT,
      reject: false,
      input: '',
      env: { FORCE_COLOR: '0', SCRATCH_EXERCISES: dir, SCRATCH_PROGRESS: progress, SCRATCH_RUN_ID: id },
    });

  it('fails with the check’s expected, seen and hint; --hint N then shows that hint', async () => {
    fs.writeFileSync(path.join(dir, '01-chroot.ts'), (WRONG[0] as WrongAnswer).text);
    const id = testId('01');
    const r = await exercise(['01'], id);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✘ step 2, “ls \/ inside the chroot”|✘ ls \/ inside the chroot lists the rootfs/);
    expect(r.stdout).toMatch(/→ expected: /);
    expect(r.stdout).toMatch(/→ seen on the host: /);
    expect(r.stdout).toContain('→ read hint 2: npm run exercise 01 -- --hint 2');
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(await leftoversOf(id)).toEqual([]);

    const hint = await exercise(['01', '--hint', '2']);
    expect(hint.stdout).toMatch(/Hint 2\/3/);
    expect(hint.stdout).toMatch(/then\s+every\s+word\s+of\s+the\s+command/);
    const none = await exercise(['01', '--hint', '9']);
    expect(none.exitCode).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/exercise 01 has hints 1 to 3, not "9"/);
  });
});
