/**
 * The lesson runner as a learner types it: real processes, real exit codes, real signals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { leftoversOf } from '../../lib/leftovers.ts';
import { processExists } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { testId } from '../helpers/lesson.ts';

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
    expect(r.stderr.trim()).toMatch(/^✘ bad option: Unknown option '--stpe'.* — fix: npm run lesson -- --help$/);
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

describe.skipIf(!canRunIntegration)('the lesson runner, as root', () => {
  it('runs lesson 01 to the end with every check passing and nothing left behind', async () => {
    const r = await run(['01', '--no-shell']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Did it work?');
    expect(r.stdout).not.toContain('✘');
    expect(r.stdout).toContain('What is next');
    expect(await leftoversOf(lastId)).toEqual([]);
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
    const r = await run(['01', '--step'], { input: '\n\n\n\n' });
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
});
