import { describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import { defineLesson, runLesson, showArgv, step, writeFile, type Mode } from '../../lib/lesson.ts';
import { columns, MAX_WIDTH, Printer, sideBySide, wrap, wrapCommand } from '../../lib/output.ts';
import { RecordingRunner } from '../../lib/runner.ts';

interface S {
  host?: string;
  inside?: string;
}

const lesson = defineLesson<S>({
  number: '99',
  title: 'test lesson',
  summary: 'A lesson used to test the framework.',
  docker: 'docker run',
  needsRoot: true,
  needsRootfs: true,
  initialState: () => ({}),
  steps: [
    step({
      title: 'look at the hostname',
      explain: 'Ask both sides.',
      docker: 'docker run --hostname box',
      commands: (ctx) => ({ host: ['hostname'], inside: ['chroot', ctx.rootfs, 'hostname'] }),
      async run(ctx, cmd) {
        ctx.state.host = (await ctx.runner.run(cmd.host)).stdout;
        ctx.state.inside = (await ctx.runner.run(cmd.inside)).stdout;
        ctx.cleanup.push('undo the thing', () => ctx.runner.run(['undo']));
        ctx.out.compare('hostname', ctx.state.host, ctx.state.inside);
      },
    }),
    step({
      title: 'second step',
      explain: 'More.',
      commands: () => ({ echo: ['echo', 'a b'] }),
      async run(ctx, cmd) {
        await ctx.runner.run(cmd.echo);
      },
    }),
  ],
  checks: (s) => [{ claim: 'hostnames differ', ok: !!s.host && s.host !== s.inside }],
  recap: { saw: ['things'], next: 'more things' },
});

async function run(mode: Mode, pause?: () => Promise<boolean>) {
  const runner = new RecordingRunner().respondTo('hostname', 'host').respondTo('chroot', 'box'); // later wins
  const text: string[] = [];
  const result = await runLesson(lesson, {
    runner,
    cleanup: new CleanupStack(),
    out: new Printer({ write: (t) => text.push(t) }),
    mode,
    rootfs: '/r',
    shell: false,
    pause,
  });
  return { runner, result, text: text.join('') };
}

describe('the lesson framework', () => {
  it('shows each step, its exact commands and the docker equivalent, runs them, then cleans up and checks', async () => {
    const { runner, result, text } = await run('run');
    expect(runner.lines).toEqual(['hostname', 'chroot /r hostname', "echo 'a b'", 'undo']);
    expect(text).toContain('Step 1/2 · look at the hostname');
    expect(text).toContain('$ chroot /r hostname');
    expect(text).toContain("$ echo 'a b'");
    expect(text).toContain('docker: docker run --hostname box');
    expect(text).toContain('✔ undo the thing');
    expect(text).toContain('✔ hostnames differ');
    expect(text).toContain('What is next');
    expect(result).toMatchObject({ completed: true, ok: true, state: { host: 'host', inside: 'box' } });
  });

  it("starts the cleanup's commands in a session of their own, out of reach of a second Ctrl-C; steps' not", async () => {
    const { runner } = await run('run');
    const own = runner.calls.map((c) => [c.argv.join(' '), c.opts.ownSession === true]);
    expect(own).toEqual([
      ['hostname', false],
      ['chroot /r hostname', false],
      ['echo a b', false],
      ['undo', true],
    ]);
  });

  it('explain mode prints every command and runs none', async () => {
    const { runner, result, text } = await run('explain');
    expect(runner.calls).toEqual([]);
    expect(text).toContain('$ chroot /r hostname');
    expect(text).toContain("$ echo 'a b'");
    expect(result.checks).toEqual([]);
  });

  it('step mode pauses before each step and q stops cleanly, still cleaning up', async () => {
    let asked = 0;
    const { runner, result } = await run('step', async () => ++asked < 2);
    expect(asked).toBe(2);
    expect(runner.lines).toEqual(['hostname', 'chroot /r hostname', 'undo']);
    expect(result.completed).toBe(false);
  });

  it('a failing step still unwinds the cleanup stack before the error surfaces', async () => {
    const runner = new RecordingRunner().respondTo("echo 'a b'", '', 1);
    const cleanup = new CleanupStack();
    await expect(
      runLesson(lesson, {
        runner,
        cleanup,
        out: new Printer({ write: () => {} }),
        mode: 'run',
        rootfs: '/r',
        shell: false,
      }),
    ).rejects.toThrow(/exited with 1/);
    expect(runner.lines.at(-1)).toBe('undo');
    expect(cleanup.size).toBe(0);
  });
});

describe('output', () => {
  it('wraps prose within the width', () => {
    const lines = wrap('word '.repeat(100), 40, '  ');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(40);
  });

  it('puts host and container side by side within 100 columns', () => {
    const rows = sideBySide('a\n' + 'x'.repeat(300), 'b', MAX_WIDTH);
    expect(rows[0]).toMatch(/^a +│ b$/);
    expect(Math.max(...rows.map((r) => r.length))).toBeLessThanOrEqual(MAX_WIDTH);
  });
});

describe('columns and echo', () => {
  it('packs names into lines no wider than asked', () => {
    const text = columns(['bin', 'dev', 'etc', 'home', 'proc', 'sys', 'tmp', 'usr', 'var'], 20);
    expect(text.split('\n').every((l) => l.length <= 20)).toBe(true);
    expect(text.split(/\s+/)).toEqual(['bin', 'dev', 'etc', 'home', 'proc', 'sys', 'tmp', 'usr', 'var']);
  });

  it('does not echo a command the step already showed, but does echo others (cleanup, fallbacks)', () => {
    const text: string[] = [];
    const out = new Printer({ write: (t) => text.push(t) });
    out.stepHeader(1, 1, 's');
    out.command('ls /');
    out.echo('ls /');
    out.echo('umount /x');
    expect(text.join('')).not.toContain('▸ ls /');
    expect(text.join('')).toContain('▸ umount /x');
  });
});

describe('long commands on a projector', () => {
  it('wrap at argument boundaries, never inside quotes, and a shell reads them back the same', async () => {
    const line = `env -i PATH=/usr/bin:/bin HOME=/root unshare --ipc --uts --pid --mount --fork -- sh -c 'echo "a b c d e f g h"; exit 3' scr-init /var/lib/scratch/rootfs/busybox`;
    const lines = wrapCommand(line, 50);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(0, -1).every((l) => l.endsWith(' \\'))).toBe(true);
    expect(lines.some((l) => l.includes(`'echo "a b c d e f g h"; exit 3'`))).toBe(true);
    const { execFileSync } = await import('node:child_process');
    const argv = (text: string) => execFileSync('sh', ['-c', `printf '%s\\n' ${text}`]).toString();
    expect(argv(lines.join('\n'))).toBe(argv(line));
  });

  it('break a heredoc body only where sh reads the written file the same way: never in a comment', async () => {
    const script = [`# ${'a long comment '.repeat(6)}`, `printf '%s|' ${'word '.repeat(20)}`, 'echo "end"'].join('\n');
    const text = `cat > init.sh <<'EOF'\n${script}\nEOF`;
    const lines = wrapCommand(text, 40);
    expect(lines.length).toBeGreaterThan(script.split('\n').length + 2);
    expect(lines[1]).toBe(script.split('\n')[0]); // the comment, whole
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/scr-heredoc-');
    try {
      const wrapped = execFileSync('sh', ['-c', `${lines.join('\n')}\nsh init.sh`], { cwd: dir }).toString();
      expect(wrapped).toBe(execFileSync('sh', ['-c', script]).toString());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a multi-line quoted script', () => {
  it('is never broken inside its quotes, and still pastes back to the same argv', async () => {
    const script = '( i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done\n  echo done )';
    const line = `env -i PATH=/bin HOME=/root unshare --pid --fork --mount-proc -- chroot /var/lib/scratch/rootfs/busybox sh -c '${script}' x`;
    const lines = wrapCommand(line, 60);
    const { execFileSync } = await import('node:child_process');
    const argv = (text: string) => execFileSync('sh', ['-c', `printf '%s\\n' ${text}`]).toString();
    expect(argv(lines.join('\n'))).toBe(argv(line));
    expect(lines.at(-1)).toBe("  echo done )' x");
  });
});

describe('numbering, init.sh once, pasteable placeholders', () => {
  const withShell = defineLesson<S>({
    ...lesson,
    steps: [
      step({
        title: 'start it',
        explain: 'Start.',
        commands: () => ({ script: writeFile('init.sh', 'set -eu\nexec "$@"'), start: { shell: 'sh init.sh &' } }),
        async run() {},
      }),
      step({
        title: 'again',
        explain: 'Again.',
        commands: () => ({ script: writeFile('init.sh', 'set -eu\nexec "$@"'), look: ['ls', '/proc/$PID/ns'] }),
        async run() {},
      }),
    ],
    shell: () => ({ explain: 'Your shell.', argv: ['sh'] }),
  });

  async function explain(l: typeof lesson) {
    const text: string[] = [];
    await runLesson(l, {
      runner: new RecordingRunner(),
      cleanup: new CleanupStack(),
      out: new Printer({ write: (t) => text.push(t) }),
      mode: 'explain',
      rootfs: '/r',
      shell: false,
    });
    return text.join('');
  }

  it('counts the shell at the end as a step: 1/3, 2/3, then 3/3, never "3/3" after "1/2"', async () => {
    const text = await explain(withShell);
    expect(text).toContain('Step 1/3 · start it');
    expect(text).toContain('Step 2/3 · again');
    expect(text).toContain('Step 3/3 · Your turn');
    expect(await explain(lesson)).toContain('Step 2/2 · second step');
  });

  it('prints a script file once per lesson, above the step that first uses it, so its pause stays near', async () => {
    const text = await explain(withShell);
    expect(text.split("cat > init.sh <<'EOF'").length).toBe(2);
    expect(text.indexOf("cat > init.sh <<'EOF'")).toBeLessThan(text.indexOf('Step 1/3'));
    const step1 = text.slice(text.indexOf('Step 1/3'), text.indexOf('Step 2/3'));
    expect(step1.split('\n').length).toBeLessThan(10);
  });

  it('shows a placeholder so the shell fills it in: "$PID", never \'$PID\'', () => {
    expect(showArgv(['nsenter', '--target', '$PID', '--uts', '--', 'hostname'])).toBe(
      'nsenter --target "$PID" --uts -- hostname',
    );
    expect(showArgv(['ls', '-l', '/proc/$PID/ns'])).toBe('ls -l "/proc/$PID/ns"');
    expect(showArgv(['sh', '-c', 'echo $$ > "$1"'])).toBe(`sh -c 'echo $$ > "$1"'`);
  });
});

describe('Ctrl-C in the middle of a step', () => {
  function slowLesson(made: string[]) {
    return defineLesson<S>({
      ...lesson,
      steps: [
        step({
          title: 'slow step',
          explain: 'Takes a while.',
          commands: () => ({ a: ['first'] }),
          async run(ctx) {
            await ctx.runner.run(['first']);
            ctx.cleanup.push('undo first', () => made.push('undone first'));
            await new Promise((r) => setTimeout(r, 50)); // the signal arrives here
            ctx.out.evidence('evidence after the signal', 'must not be printed');
            ctx.cleanup.push('undo late', () => made.push('undone late'));
            await ctx.runner.run(['second']); // refused: the lesson is stopping
            made.push('ran second');
          },
        }),
        step({ title: 'next step', explain: 'Never.', commands: () => ({ n: ['next'] }), async run() {} }),
      ],
    });
  }

  it('stops at once: no more step output, no next step, no new command; what was made is undone', async () => {
    const made: string[] = [];
    const runner = new RecordingRunner();
    const text: string[] = [];
    const stop = new AbortController();
    setTimeout(() => stop.abort('SIGINT'), 20);
    const result = await runLesson(slowLesson(made), {
      runner,
      cleanup: new CleanupStack(),
      out: new Printer({ write: (t) => text.push(t) }),
      mode: 'run',
      rootfs: '/r',
      shell: false,
      signal: stop.signal,
    });
    const shown = text.join('');
    const after = shown.slice(shown.indexOf('SIGINT: stopping the lesson and cleaning up'));
    expect(result).toMatchObject({ completed: false, interrupted: 'SIGINT', checks: [] });
    expect(after).not.toContain('must not be printed');
    expect(after).not.toContain('Step 2/2');
    expect(after).toContain('Cleaning up');
    expect(runner.lines).toEqual(['first']);
    expect(made).toEqual(['undone first', 'undone late']);
    expect(shown).not.toContain('Did it work?');
  });

  it('a command that ends of the Ctrl-C a moment before the runner sees it is an interrupt, not a bug', async () => {
    // Ctrl-C reaches the whole process group: the step's ctr exits 130 and fails the step; the runner's own handler
    // runs a moment later.
    const made: string[] = [];
    const stop = new AbortController();
    const interrupted = defineLesson<S>({
      ...lesson,
      steps: [
        step({
          title: 'runs a ctr',
          explain: 'Its ctr ends of the Ctrl-C first.',
          commands: () => ({ a: ['ctr'] }),
          async run(ctx) {
            ctx.cleanup.push('undo the ctr', () => made.push('undone'));
            setTimeout(() => stop.abort('SIGINT'), 30);
            throw new Error('images failed (exit 130)');
          },
        }),
      ],
    });
    const result = await runLesson(interrupted, {
      runner: new RecordingRunner(),
      cleanup: new CleanupStack(),
      out: new Printer({ write: () => {} }),
      mode: 'run',
      rootfs: '/r',
      shell: false,
      signal: stop.signal,
    });
    expect(result).toMatchObject({ completed: false, interrupted: 'SIGINT', checks: [] });
    expect(made).toEqual(['undone']);
  });

  it('Ctrl-C at the step prompt is an interrupt (exit 130), not a quiet q', async () => {
    const text: string[] = [];
    const result = await runLesson(lesson, {
      runner: new RecordingRunner(),
      cleanup: new CleanupStack(),
      out: new Printer({ write: (t) => text.push(t) }),
      mode: 'step',
      rootfs: '/r',
      shell: false,
      pause: async () => 'interrupt',
    });
    expect(result.interrupted).toBe('SIGINT');
    expect(text.join('')).toContain('SIGINT: stopping the lesson');
  });
});

describe('a rootfs that lacks a command the lesson runs inside', () => {
  it('stops the lesson with one line naming it, before any command runs', async () => {
    const runner = new RecordingRunner();
    const l = defineLesson<S>({ ...lesson, rootfsCommands: ['sh', 'no-such-tool'] });
    await expect(
      runLesson(l, {
        runner,
        cleanup: new CleanupStack(),
        out: new Printer({ write: () => {} }),
        mode: 'run',
        rootfs: '/nonexistent-rootfs',
        shell: false,
      }),
    ).rejects.toThrow(/^rootfs \/nonexistent-rootfs has no sh, no-such-tool, which lesson 99 runs inside/);
    expect(runner.calls).toEqual([]);
  });
});
