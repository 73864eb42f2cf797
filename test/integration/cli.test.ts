/**
 * The lesson runner as a learner types it: real processes, real exit codes, real signals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { listLessonFiles } from '../../lib/discovery.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { processExists } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { allowSudo, asLearner, ensureLearner, DEBIAN_USER_PATH } from '../helpers/learner.ts';
import { testId } from '../helpers/lesson.ts';
import { runInPty } from '../helpers/pty.ts';

const LESSON = ['--import', 'tsx', 'lib/cli/lesson.ts'];
/** Every run gets its own id (SCRATCH_RUN_ID), so the test can ask for exactly that run's leftovers. */
let lastId = '';
const run = (args: string[], opts: { input?: string } = {}) => {
  lastId = testId(args[0] ?? '99');
  return execa(process.execPath, [...LESSON, ...args], {
    reject: false,
    input: opts.input ?? '',
    env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: lastId },
  });
};

/** execa for an argv array (asLearner's). */
const execArgv = (argv: string[], opts: { input?: string } = {}) =>
  execa(argv[0] ?? 'false', argv.slice(1), { reject: false, input: opts.input ?? '' });

const hasStackTrace = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

describe('the lesson runner, for any user', () => {
  it('an unknown lesson prints the list and one line, no stack trace', async () => {
    const r = await run(['42']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('01  chroot');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('there is no lesson "42" — fix: npm run lesson 01');
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('a mistyped flag is one line with the fix', async () => {
    const r = await run(['01', '--stpe']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^✘ unknown option --stpe \(did you mean --step\?\) — fix: npm run lesson 01 -- --step/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('off Linux it says so in one line, explains the lesson without running it, and points at the VM', async () => {
    // Pretend to be macOS: the runner must not run a single command (it would fail there anyway).
    const asMac = 'data:text/javascript,Object.defineProperty(process,"platform",{value:"darwin"})';
    const r = await execa(process.execPath, ['--import', asMac, ...LESSON, '03'], {
      reject: false,
      env: { FORCE_COLOR: '0' },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      '! This is darwin: containers are a Linux kernel feature, so here the lesson is explained, not run.',
    );
    expect(r.stdout).toContain('$ cat > init.sh');
    expect(r.stdout).not.toContain('Did it work?');
    expect(r.stdout).toContain('vagrant up');
  });

  it('no lesson number without a terminal lists the lessons and says how to pick one', async () => {
    const r = await run([]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/00 {2}A container is a process/);
    expect(r.stderr).toContain('no lesson number given');
  });
});

describe('after the last lesson', () => {
  const last = listLessonFiles().at(-1)?.number ?? '12';
  const after = String(Number(last) + 1).padStart(2, '0');

  it(`npm run lesson ${after}, past the last lesson, is refused with one line that names lesson ${last}`, async () => {
    const r = await run([after]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `✘ there is no lesson ${after}: the workshop ends with lesson ${last} — fix: npm run lesson ${last}   (or npm run exercise for the exercises still open)`,
    ]);
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
  });

  it(`lesson ${last} ends saying the workshop is complete, not pointing at lesson ${after}`, async () => {
    const r = await run([last, '--explain']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('That was the last lesson: the workshop is complete.');
    expect(r.stdout).not.toMatch(new RegExp(`npm run lesson ${after}|is planned`));
    expect((await run(['06', '--explain'])).stdout).toContain('Next: npm run lesson 07 -- --explain');
  });
});

describe('flags written before -- (npm run lesson 01 --explain)', () => {
  const npm = (args: string[], input = '') => {
    lastId = testId(args[0] ?? '99');
    return execa('npm', ['run', '-s', 'lesson', ...args], {
      reject: false,
      input,
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: lastId },
    });
  };

  it('an instructor who meant "explain" gets the explanation, never a real run', async () => {
    const r = await npm(['01', '--explain']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('npm kept --explain for itself; honoured anyway');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('npm run lesson 01 -- --explain');
    expect(r.stdout).toMatch(/\$ chroot \S+ \/bin\/ls \//);
    expect(r.stdout).not.toContain('Did it work?');
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('npm run lesson 03 --step pauses before the first step', async () => {
    const r = await npm(['03', '--step'], 'q\n');
    expect(r.stdout).toContain('Step 1/5: press Enter to run it, q to stop');
    expect(r.stdout).toContain('Stopped here; cleaning up.');
    expect(await leftoversOf(lastId)).toEqual([]);
  });
});

describe.skipIf(!canRunIntegration)('the lesson runner, as root', () => {
  it('runs lesson 01 to the end with every check passing and nothing left behind', async () => {
    const r = await run(['01', '--no-shell']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Did it work?');
    expect(r.stdout).not.toContain('✘');
    expect(r.stdout).toContain('What is next');
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('four lessons 04 at once (two instructors, two terminals each) all pass and leave nothing', async () => {
    // Each container's root is a mount of its own and pivot_root(".", ".") needs no directory in the
    // shared rootfs: before that, runs like these collided on <rootfs>/.oldroot.
    const ids = [0, 1, 2, 3].map(() => testId('04'));
    const runs = await Promise.all(
      ids.map((id) =>
        execa(process.execPath, [...LESSON, '04', '--no-shell'], {
          reject: false,
          input: '',
          env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: id },
        }),
      ),
    );
    for (const [i, r] of runs.entries()) {
      expect(r.stderr, `run ${i}`).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(r.exitCode, `run ${i}: ${r.stdout.slice(-400)}`).toBe(0);
      expect(r.stdout).toContain('Did it work?');
      expect(r.stdout).not.toContain('✘');
    }
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(await leftoversOf(id)).toEqual([]);
  });

  it('--explain prints the commands and runs none of them', async () => {
    const r = await run(['01', '--explain']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/\$ chroot \S+ \/bin\/ls \//);
    expect(r.stdout).not.toContain('Did it work?');
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('step mode reads one line per step from piped input, and q stops cleanly, undoing what was made', async () => {
    const r = await run(['00', '--step'], { input: '\n\nq\n' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Step 2/3: press Enter to run it, q to stop');
    expect(r.stdout).toContain('Step 3/3: press Enter to run it, q to stop');
    expect(r.stdout).toContain('namespace inodes'); // step 2 ran
    expect(r.stdout).toMatch(/^ {2}\$ cat \/proc\/\d+\/cgroup$/m); // step 3 was announced…
    expect(r.stdout).not.toMatch(/^ {2}cat \/proc\/\d+\/cgroup$/m); // …but its evidence never printed
    expect(r.stdout).toMatch(/✔ stop process \d+ \(sleep\)/);
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('step mode with enough Enters runs every step to the checks', async () => {
    const r = await run(['01', '--step'], { input: '\n\n\n\n\n' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Did it work?');
    expect(r.stdout).not.toContain('✘');
  });

  it('SIGTERM in the middle of a lesson kills its process and cleans up', async () => {
    lastId = testId('00');
    const child = execa(process.execPath, [...LESSON, '00', '--step'], {
      reject: false,
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: lastId },
    });
    let seen = '';
    const atStep2 = new Promise<void>((resolve) =>
      child.stdout?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('Step 2/3: press Enter')) resolve();
      }),
    );
    child.stdin?.write('\n');
    await atStep2;
    const sleepPid = Number(
      /sleep 300/.test(seen) ? (/^\s*(\d+)\s+\d+\s+root\s+\S+\s+sleep 300/m.exec(seen)?.[1] ?? 0) : 0,
    );
    expect(sleepPid).toBeGreaterThan(0);
    expect(processExists(sleepPid)).toBe(true);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    expect(r.stdout).toContain('SIGTERM: stopping the lesson and cleaning up');
    expect(processExists(sleepPid)).toBe(false);
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('output closed early (piped into head) still cleans up everything', async () => {
    lastId = testId('01');
    const child = execa(process.execPath, [...LESSON, '01', '--no-shell'], {
      reject: false,
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: lastId },
    });
    let seen = '';
    // Close the pipe right after lesson 01 has mounted /proc in the rootfs, as `| head` would.
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes("the host's mount table now has")) child.stdout?.destroy();
    });
    const r = await child;
    expect(seen).toContain("the host's mount table now has");
    expect(r.stderr).not.toContain('EPIPE');
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('as a normal user it re-runs itself with sudo, and the progress it saves belongs to that user', async () => {
    const hasSudo = (await execa('sh', ['-c', 'command -v sudo'], { reject: false })).exitCode === 0;
    if (!hasSudo) {
      console.log('  (sudo is not installed: the sudo path is not exercised here; CI installs it)');
      if (process.env.CI === 'true') throw new Error('CI must install sudo for this test');
      return;
    }
    // Let `nobody` run exactly this node with sudo, for the length of the test.
    const rule = `/etc/sudoers.d/scr-test-${process.pid}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-progress-'));
    fs.chmodSync(dir, 0o777);
    const progress = path.join(dir, 'progress.json');
    fs.writeFileSync(rule, `nobody ALL=(root) NOPASSWD:SETENV: ${process.execPath}\n`, { mode: 0o440 });
    lastId = testId('01');
    try {
      const r = await execa(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...LESSON, '01', '--no-shell'],
        { reject: false, env: { FORCE_COLOR: '0', HOME: '/tmp', SCRATCH_PROGRESS: progress, SCRATCH_RUN_ID: lastId } },
      );
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('lesson 01 needs root');
      expect(r.stdout).toContain('Re-running with sudo');
      expect(r.stdout).toContain('Did it work?');
      expect(r.stdout).not.toContain('✘');
      expect(Object.keys(JSON.parse(fs.readFileSync(progress, 'utf8')).completed)).toEqual(['01']);
      expect(fs.statSync(progress).uid).toBe(65534);
      expect(await leftoversOf(lastId)).toEqual([]);
    } finally {
      fs.rmSync(rule, { force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without root it explains and tries sudo instead of failing obscurely', async () => {
    const r = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...LESSON, '01', '--no-shell'],
      { reject: false, env: { FORCE_COLOR: '0', HOME: '/tmp' } },
    );
    expect(r.exitCode).not.toBe(0);
    const hasSudo = (await execa('sh', ['-c', 'command -v sudo'], { reject: false })).exitCode === 0;
    if (hasSudo) expect(r.stdout).toContain('needs root');
    else
      expect(r.stderr.trim()).toBe(
        '✘ lesson 01 needs root and sudo is not installed — fix: su -c "npm run lesson ..."',
      );
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('a flood of Enter in --step (yes | npm run lesson 04 -- --step) is read as needed, not hoarded', async () => {
    lastId = testId('04');
    let pulled = 0;
    const chunk = '\n'.repeat(64 * 1024);
    const enter = new Readable({
      read() {
        pulled += chunk.length;
        this.push(chunk);
      },
    });
    const child = execa(process.execPath, [...LESSON, '04', '--step'], {
      reject: false,
      stdin: 'pipe',
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: lastId },
    });
    enter.pipe(child.stdin!).on('error', () => {});
    let peakKb = 0;
    const watch = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        peakKb = Math.max(peakKb, Number(hwm ?? 0));
      } catch {
        // ended
      }
    }, 50);
    const started = Date.now();
    const r = await child;
    clearInterval(watch);
    enter.destroy();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Did it work?');
    expect(r.stdout).not.toContain('✘');
    expect(pulled).toBeLessThan(8 * 1024 * 1024);
    expect(peakKb).toBeLessThan(400 * 1024);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('Ctrl-C in the middle of a step stops at once: no more evidence, no next step, exit 130', async () => {
    lastId = testId('05');
    const child = execa(process.execPath, [...LESSON, '05'], {
      reject: false,
      input: '',
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: lastId },
    });
    let seen = '';
    // Step 7 measures the busy loop for seconds: the middle of a step, with a container running.
    await new Promise<void>((resolve) =>
      child.stdout?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('Without a quota:')) resolve();
      }),
    );
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    const after = r.stdout.slice(r.stdout.indexOf('! SIGINT: stopping the lesson and cleaning up'));
    expect(after.length).toBeLessThan(r.stdout.length);
    expect(after).toContain('Cleaning up');
    expect(after).not.toContain('With the quota');
    expect(after).not.toMatch(/Step 8\/8/);
    expect(after).not.toMatch(/^ {2}\$ /m);
    expect(after).not.toContain('Did it work?');
    expect(await leftoversOf(lastId)).toEqual([]);
  });

  it('Ctrl-C at the step prompt of a terminal exits 130, and cleans up', async () => {
    const id = testId('00');
    const t = runInPty([process.execPath, ...LESSON, '00', '--step'], {
      ...process.env,
      FORCE_COLOR: '0',
      SCRATCH_RUN_ID: id,
    });
    await t.waitFor('Step 1/3: press Enter');
    t.type('\r');
    await t.waitFor('Step 2/3: press Enter');
    t.type('\x03');
    const { exitCode, output } = await t.done;
    expect(exitCode).toBe(130);
    expect(output).toContain('SIGINT: stopping the lesson and cleaning up');
    expect(output).toMatch(/✔ stop process \d+ \(sleep\)/);
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('an 80-column terminal gets lines of at most 80 columns, evidence and cleanup included', async () => {
    lastId = testId('04');
    const child = await execa(process.execPath, [...LESSON, '04'], {
      reject: false,
      input: '',
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: lastId, COLUMNS: '80' },
    });
    expect(child.exitCode, child.stderr).toBe(0);
    const wide = child.stdout.split('\n').filter((l) => [...l].length > 80);
    expect(wide).toEqual([]);
  });
});

describe.skipIf(!canRunIntegration)("a normal user on Debian 12: sudo, and Debian's PATH without /usr/sbin", () => {
  const node = process.execPath;

  it('lessons 01 and 04 re-run themselves with sudo and pass: chroot and pivot_root are found', async () => {
    await ensureLearner();
    const disallow = allowSudo(node);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-learner-'));
    fs.chmodSync(dir, 0o777);
    try {
      for (const lesson of ['01', '04']) {
        const id = testId(lesson);
        const r = await execArgv(
          asLearner([node, ...LESSON, lesson], {
            SCRATCH_RUN_ID: id,
            SCRATCH_PROGRESS: path.join(dir, 'progress.json'),
            FORCE_COLOR: '0',
          }),
          { input: '' },
        );
        expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toContain('Re-running with sudo');
        expect(r.stdout).toContain('Did it work?');
        expect(r.stdout).not.toContain('✘');
        expect(r.stderr).not.toContain('unexpected error');
        expect(await leftoversOf(id)).toEqual([]);
      }
    } finally {
      disallow();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("doctor judges that same PATH: it says what it adds, and its ✔ is the lessons' ✔", async () => {
    await ensureLearner();
    const r = await execArgv(asLearner([node, '--import', 'tsx', 'lib/cli/doctor.ts'], { FORCE_COLOR: '0' }));
    expect(r.stdout).toMatch(
      /PATH\s+lessons run their commands with your PATH plus\s+\/usr\/local\/sbin:\/usr\/sbin:\/sbin/,
    );
    expect(r.stdout).toMatch(/✔ chroot/);
    expect(r.stdout).toMatch(/✔ pivot_root/);
    expect(DEBIAN_USER_PATH).not.toContain('sbin');
  });

  it('the picker asks once: the chosen lesson is passed on to the sudo re-run', async () => {
    await ensureLearner();
    const disallow = allowSudo(node);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-learner-'));
    fs.chmodSync(dir, 0o777);
    const id = testId('00');
    try {
      const t = runInPty(
        asLearner([node, ...LESSON], {
          SCRATCH_RUN_ID: id,
          SCRATCH_PROGRESS: path.join(dir, 'progress.json'),
          FORCE_COLOR: '0',
          TERM: 'xterm',
        }),
      );
      await t.waitFor('Which lesson?');
      t.type('\r'); // the first lesson not yet completed: 00
      const { exitCode, output } = await t.done;
      expect(exitCode, output).toBe(0);
      expect(output).toContain('Re-running with sudo');
      // The picker is the parent's; the re-run under sudo gets the lesson and asks nothing.
      expect(output.slice(output.indexOf('Re-running with sudo'))).not.toContain('Which lesson?');
      expect(output).toContain('Lesson 00');
      expect(await leftoversOf(id)).toEqual([]);
    } finally {
      disallow();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('setup without sudo names a command that really sets up, not an apt-get line with no package', async () => {
    await ensureLearner();
    // A PATH with what setup looks at, and no sudo in it.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-nosudo-'));
    for (const tool of ['sh', 'bash', 'dpkg-query', 'apt-get', 'env']) {
      fs.symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
    }
    fs.chmodSync(bin, 0o755);
    try {
      const argv = asLearner([node, '--import', 'tsx', 'rootfs-scripts/setup.ts']).map((a) =>
        a.startsWith('PATH=') ? `PATH=${bin}` : a,
      );
      const r = await execArgv(argv);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/sudo is not installed — fix: su -c '.*rootfs-scripts\/setup\.ts'/);
      expect(r.stderr).not.toMatch(/--no-install-recommends['"]?\s*$/m);
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
