import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CommandError, CommandNotFoundError } from '../../lib/errors.ts';
import { createRunner, RecordingRunner, toolPath } from '../../lib/runner.ts';

describe('the real runner', () => {
  it('runs an argv without a shell and returns its output', async () => {
    const r = await createRunner().run(['printf', '%s|', 'a b', '$HOME']);
    expect(r.stdout).toBe('a b|$HOME|');
    expect(r.exitCode).toBe(0);
  });

  it('throws a CommandError with the command, exit code and stderr when a command fails', async () => {
    const err = await createRunner()
      .run(['sh', '-c', 'echo boom >&2; exit 3'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).exitCode).toBe(3);
    expect((err as CommandError).message).toContain("sh -c 'echo boom >&2; exit 3'");
    expect((err as CommandError).message).toContain('boom');
  });

  it('returns the exit code instead of throwing with reject: false', async () => {
    expect((await createRunner().run(['sh', '-c', 'exit 7'], { reject: false })).exitCode).toBe(7);
  });

  it('echoes each command, quoted, before it runs', async () => {
    const seen: string[] = [];
    await createRunner({ echo: (l) => seen.push(l) }).run(['echo', 'a b']);
    expect(seen).toEqual(["echo 'a b'"]);
  });

  it('in dry-run mode echoes but runs nothing', async () => {
    const seen: string[] = [];
    const runner = createRunner({ dryRun: true, echo: (l) => seen.push(l) });
    const r = await runner.run(['sh', '-c', 'exit 9']);
    expect(r).toMatchObject({ exitCode: 0, dryRun: true, stdout: '' });
    expect(runner.start(['sleep', '100']).pid).toBe(0);
    expect(seen).toEqual(["sh -c 'exit 9'", 'sleep 100']);
  });

  it('reports a process killed by a signal with its signal and 128+n', async () => {
    const runner = createRunner();
    const proc = runner.start(['sleep', '30']);
    proc.kill('SIGKILL');
    const r = await proc.wait();
    expect(r.signal).toBe('SIGKILL');
    expect(r.exitCode).toBe(137);
  });

  it('a seccomp kill (SIGSYS) is 128 + 31, as a shell reports it', async () => {
    // No core file: a SIGSYS would otherwise dump one where core dumps are on.
    const r = await createRunner().run(['sh', '-c', 'ulimit -c 0; kill -SYS $$'], { reject: false });
    expect(r.signal).toBe('SIGSYS');
    expect(r.exitCode).toBe(159);
  });

  it('killAll ends every command it started that still runs', async () => {
    const runner = createRunner();
    const a = runner.start(['sleep', '30']);
    const b = runner.run(['sleep', '30'], { reject: false });
    await new Promise((r) => setTimeout(r, 50));
    runner.killAll('SIGTERM');
    expect((await a.wait()).signal).toBe('SIGTERM');
    expect((await b).signal).toBe('SIGTERM');
  });
});

describe('what the real runner hands a command, and what it gives back', () => {
  it('feeds input to stdin, keeps the environment and adds to it, and drops one final newline of output', async () => {
    const r = await createRunner().run(['sh', '-c', 'cat; echo "$HOME:$SCR_X"; echo'], {
      input: 'in\n',
      env: { SCR_X: 'x' },
    });
    expect(r.stdout).toBe(`in\n${process.env.HOME}:x\n`);
  });

  it('appends both output streams to a file, and holds none of it in memory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-runner-'));
    const log = path.join(dir, 'log');
    try {
      fs.writeFileSync(log, 'before\n');
      const r = await createRunner().start(['sh', '-c', 'echo out; echo err >&2'], { outputFile: log }).wait();
      expect(r).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
      expect(fs.readFileSync(log, 'utf8')).toBe('before\nout\nerr\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a started command a socket as fd 3 when asked (a container init talks to the host on it)', async () => {
    const proc = createRunner().start(['sh', '-c', 'read line <&3; echo "got $line" >&3'], { sync: true });
    const sync = proc.sync as Duplex;
    sync.write('go\n');
    const reply = await new Promise<string>((resolve) => sync.once('data', (d: Buffer) => resolve(d.toString())));
    expect(reply).toBe('got go\n');
    expect((await proc.wait()).exitCode).toBe(0);
  });

  it('returns once a command exits, even if a process it left behind keeps its output open', async () => {
    const t = Date.now();
    const r = await createRunner().run(['sh', '-c', 'sleep 5 & echo hi']);
    expect(r.stdout).toBe('hi');
    expect(Date.now() - t).toBeLessThan(4500);
  });

  it('ends a command at its timeout with SIGTERM', async () => {
    const r = await createRunner().run(['sleep', '30'], { timeoutMs: 100, reject: false });
    expect(r).toMatchObject({ signal: 'SIGTERM', exitCode: 143 });
  });

  it.skipIf(process.platform !== 'linux')(
    'a command still running when the runner’s process exits is ended with it, not orphaned',
    () => {
      const script = [
        "import { createRunner } from './lib/runner.ts';",
        "const p = createRunner().start(['sleep', '30']);",
        'console.log(p.pid);',
        'setTimeout(() => process.exit(0), 100);',
      ].join('\n');
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: path.resolve(import.meta.dirname, '../..'),
        encoding: 'utf8',
      });
      const pid = Number(r.stdout.trim());
      expect(pid).toBeGreaterThan(0);
      const alive = () => {
        try {
          return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 2000;
      while (alive() && Date.now() < deadline) spawnSync('sleep', ['0.05']);
      expect(alive()).toBe(false);
    },
  );
});

describe('a command that is not there', () => {
  it('is its own error naming the command, exit 127 — not "exited with 1" with no stderr', async () => {
    const err = await createRunner()
      .run(['scr-no-such-command', '/'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandNotFoundError);
    expect((err as CommandNotFoundError).exitCode).toBe(127);
    expect((err as CommandNotFoundError).message).toMatch(/^command not found: scr-no-such-command \(looked in /);
  });

  it('with reject: false, answers as a shell does: exit 127 and "command not found" on stderr', async () => {
    const r = await createRunner().run(['scr-no-such-command'], { reject: false });
    expect(r).toMatchObject({ exitCode: 127, stderr: 'scr-no-such-command: command not found\n' });
    expect((await createRunner().start(['scr-no-such-command']).wait()).exitCode).toBe(127);
  });

  it("finds root's tools even from a normal user's Debian PATH (no sbin), which sudo keeps", async () => {
    const debian = '/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games';
    expect(toolPath(debian).split(':')).toEqual([...debian.split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin']);
    const r = await createRunner().run(['chroot', '--version'], { env: { PATH: debian } });
    expect(r.stdout).toContain('chroot');
  });
});

describe('the recording runner', () => {
  it('records commands and answers with canned results', async () => {
    const runner = new RecordingRunner().respondTo('hostname', 'box\n');
    const r = await runner.run(['hostname']);
    await runner.run(['true']);
    expect(r.stdout).toBe('box\n');
    expect(runner.lines).toEqual(['hostname', 'true']);
  });

  it('throws like the real runner for a failing canned result', async () => {
    const runner = new RecordingRunner().respondTo('false', '', 1);
    await expect(runner.run(['false'])).rejects.toBeInstanceOf(CommandError);
    expect((await runner.run(['false'], { reject: false })).exitCode).toBe(1);
  });
});

describe.skipIf(process.platform !== 'linux')('ownSession', () => {
  // Field 6 of /proc/<pid>/stat is the session id: the 4th after the name in parentheses (which may hold spaces).
  const sessionOf = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3];
  const script = ['sh', '-c', 'echo $$; cat /proc/$$/stat'];

  it("starts the command in a session of its own, where the terminal's Ctrl-C does not reach it", async () => {
    const r = await createRunner().run(script, { ownSession: true });
    const [pid, stat = ''] = r.stdout.split('\n');
    expect(sessionOf(stat)).toBe(pid);
  });

  it('a command a Ctrl-C still caught on its way to its own session is run again; without one it is not', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-session-'));
    try {
      // The first start dies of SIGINT, as one caught between fork and setsid does; the second prints ok.
      const once = ['sh', '-c', `[ -e ${dir}/seen ] || { touch ${dir}/seen; kill -INT $$; }; echo ok`];
      const r = await createRunner().run(once, { ownSession: true });
      expect(r.stdout).toBe('ok');
      fs.rmSync(`${dir}/seen`);
      const plain = await createRunner().run(once, { reject: false });
      expect(plain.signal).toBe('SIGINT');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("otherwise the command stays in the runner's session", async () => {
    const r = await createRunner().run(script);
    expect(sessionOf(r.stdout.split('\n')[1] ?? '')).toBe(sessionOf(fs.readFileSync('/proc/self/stat', 'utf8')));
  });
});
