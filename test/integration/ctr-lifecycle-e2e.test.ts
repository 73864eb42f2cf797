/**
 * ctr's detached lifecycle and its command line, end to end: logs -f, kill (SIGKILL and -s), stop's grace period,
 * ps -q and -a, exec's flags, a published UDP port (-p HOST:CONTAINER/udp) reached from the host side, and for
 * every command its --help, an unknown flag and a missing argument. Each check has a control that tells the flag
 * from its absence. Every ctr runs in a network namespace of this file's own (see test/helpers/ctr-e2e.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../lib/container/state.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { DEFAULT_ROOTFS, ROOTFS_ROOT } from '../../lib/names.ts';
import { waitFor } from '../../lib/wait.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { e2eHost, oneLine } from '../helpers/ctr-e2e.ts';

const RUN = crypto.randomBytes(3).toString('hex');
const host = e2eHost(RUN);
const { ctr, newId } = host;
/** The Debian rootfs (CI builds it): its perl can listen on UDP, which busybox's nc cannot. */
const DEBIAN_ROOTFS = path.join(ROOTFS_ROOT, 'debian');
const hasPerl = fs.existsSync(path.join(DEBIAN_ROOTFS, 'usr/bin/perl'));

beforeAll(async () => {
  if (canRunIntegration) await host.create();
});
afterAll(async () => {
  if (!canRunIntegration) return;
  await host.remove();
  expect(await leftoversOf(RUN)).toEqual([]);
});

/** `ctr run -d --network none ROOTFS sh -c SCRIPT` as a container of this run; its id. */
async function detached(script: string, flags: string[] = []): Promise<string> {
  const id = newId();
  const r = await ctr(['run', '-d', '--network', 'none', ...flags, DEFAULT_ROOTFS, 'sh', '-c', script], { id });
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stdout).toBe(id);
  return id;
}

const logOf = (id: string) => {
  try {
    return fs.readFileSync(readState(id)?.logPath ?? '', 'utf8');
  } catch {
    return '';
  }
};
/** Until the container's log holds this line: a trap is set once the script says so. */
const logged = (id: string, line: string) =>
  waitFor(`"${line}" in ${id}'s log`, () => (logOf(id).includes(`${line}\n`) ? true : undefined), 5000);
/** Until its waiter recorded the exit: the state then. */
const exited = (id: string, timeoutMs = 5000) =>
  waitFor(
    `${id} to exit`,
    () => {
      const s = readState(id);
      return s?.status === 'exited' ? s : undefined;
    },
    timeoutMs,
  );

const TRAP_TERM = (then: string) => `trap '${then}' TERM; echo ready; while :; do sleep 0.1; done`;

describe.skipIf(!canRunIntegration).concurrent('a detached container: logs, kill, stop, ps, exec', () => {
  it('logs -f prints lines as the container writes them and ends when it exits; logs alone prints what is there', async () => {
    const id = await detached('echo one; sleep 1.5; echo two; sleep 1.5; echo three');
    try {
      await logged(id, 'one');
      // Without -f: what is there now, and back at once, long before "three" is written.
      const now = await ctr(['logs', id]);
      expect(now.stdout).toMatch(/^one(\ntwo)?$/);
      const follow = host.spawnCtr(['logs', '-f', id]);
      const seen: { at: number; text: string }[] = [];
      follow.stdout?.on('data', (chunk: Buffer) => seen.push({ at: Date.now(), text: chunk.toString() }));
      const r = await follow;
      const ended = Date.now();
      expect(r.exitCode).toBe(0);
      expect(String(r.stdout)).toBe('one\ntwo\nthree');
      const at = (line: string) => seen.find((c) => c.text.includes(line))?.at ?? NaN;
      // It followed: "three" (written three seconds after "one") came in a later piece, not all at once at the end.
      expect(seen[0]?.text).not.toContain('three');
      expect(at('three') - at('one')).toBeGreaterThan(500);
      // And it stopped by itself once the container had exited.
      expect(ended - at('three')).toBeLessThan(2000);
      expect((await exited(id)).exitCode).toBe(0);
    } finally {
      await ctr(['rm', '-f', id]);
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('kill sends SIGKILL by default (137, whatever PID 1 traps); -s TERM reaches PID 1’s trap (its own exit code)', async () => {
    const [hard, soft] = await Promise.all([detached(TRAP_TERM('')), detached(TRAP_TERM('echo got-term; exit 7'))]);
    try {
      await Promise.all([logged(hard, 'ready'), logged(soft, 'ready')]);
      const k = await ctr(['kill', hard]);
      expect(k.exitCode, k.stderr).toBe(0);
      expect(k.stdout).toBe(hard);
      expect((await exited(hard)).exitCode).toBe(137);
      const again = await ctr(['kill', hard]);
      expect(again.exitCode).toBe(125);
      expect(oneLine(again.stderr), again.stderr).toBe(true);
      expect(again.stderr).toContain('is not running');

      expect((await ctr(['kill', '-s', 'sigterm', soft])).exitCode).toBe(0);
      expect((await exited(soft)).exitCode).toBe(7);
      expect((await ctr(['logs', soft])).stdout).toBe('ready\ngot-term');
    } finally {
      await ctr(['rm', '-f', hard, soft]);
    }
    expect(await leftoversOf(hard, soft)).toEqual([]);
  });

  it('stop: a PID 1 that ignores SIGTERM is killed after -t seconds (137); one that exits on it is not waited for', async () => {
    const [stubborn, polite] = await Promise.all([
      detached(TRAP_TERM('')),
      detached(TRAP_TERM('echo got-term; exit 0')),
    ]);
    try {
      await Promise.all([logged(stubborn, 'ready'), logged(polite, 'ready')]);
      const timed = async (args: string[]) => {
        const t0 = Date.now();
        const r = await ctr(args);
        return { ...r, ms: Date.now() - t0 };
      };
      const [hard, soft] = await Promise.all([
        timed(['stop', '-t', '1', stubborn]),
        timed(['stop', '-t', '10', polite]),
      ]);
      expect(hard.exitCode, hard.stderr).toBe(0);
      expect(hard.ms).toBeGreaterThanOrEqual(1000);
      expect(hard.ms).toBeLessThan(5000);
      expect(readState(stubborn)?.exitCode).toBe(137);
      expect(soft.exitCode, soft.stderr).toBe(0);
      expect(soft.ms).toBeLessThan(4000);
      expect(readState(polite)?.exitCode).toBe(0);
      expect((await ctr(['logs', polite])).stdout).toBe('ready\ngot-term');
    } finally {
      await ctr(['rm', '-f', stubborn, polite]);
    }
    expect(await leftoversOf(stubborn, polite)).toEqual([]);
  });

  it('ps -q lists only running ids; -a (and -aq) adds the exited ones', async () => {
    const running = await detached('exec sleep 30');
    const done = newId();
    expect((await ctr(['run', '--network', 'none', DEFAULT_ROOTFS, 'true'], { id: done })).exitCode).toBe(0);
    try {
      const q = (await ctr(['ps', '-q'])).stdout.split('\n');
      for (const line of q) expect(line).toMatch(/^[0-9a-f]{10}$/);
      expect(q).toContain(running);
      expect(q).not.toContain(done);
      expect((await ctr(['ps', '-a', '-q'])).stdout.split('\n')).toEqual(expect.arrayContaining([running, done]));
      expect((await ctr(['ps', '-aq'])).stdout.split('\n')).toEqual(expect.arrayContaining([running, done]));
      const table = (await ctr(['ps', '-a'])).stdout;
      expect(table).toMatch(new RegExp(`^${done} .* Exited \\(0\\) `, 'm'));
      expect(table).toMatch(new RegExp(`^${running} .* Up `, 'm'));
      expect((await ctr(['ps'])).stdout).not.toContain(done);
    } finally {
      await ctr(['rm', '-f', running, done]);
    }
    expect(await leftoversOf(running, done)).toEqual([]);
  });

  it('exec -e, -w and -i, and the exec’d command’s own exit code; rm of a running one needs -f', async () => {
    const id = await detached('exec sleep 30', ['-e', 'FROM_RUN=r']);
    try {
      const e = await ctr(['exec', '-e', 'X=x', '-w', '/etc', id, 'sh', '-c', 'echo "$X $FROM_RUN"; pwd']);
      expect(e.exitCode, e.stderr).toBe(0);
      expect(e.stdout).toBe('x r\n/etc');
      expect((await ctr(['exec', id, 'pwd'])).stdout).toBe('/');
      expect((await ctr(['exec', '-i', id, 'cat'], { input: 'piped\n' })).stdout).toBe('piped');
      expect((await ctr(['exec', id, 'cat'], { input: 'piped\n' })).stdout).toBe('');
      expect((await ctr(['exec', id, 'sh', '-c', 'exit 4'])).exitCode).toBe(4);
      expect((await ctr(['exec', id, 'no-such-command'])).exitCode).toBe(127);
      const rm = await ctr(['rm', id]);
      expect(rm.exitCode).toBe(125);
      expect(oneLine(rm.stderr), rm.stderr).toBe(true);
      expect(readState(id)?.status).toBe('running');
    } finally {
      await ctr(['rm', '-f', id]);
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('a container is found by its name or a unique prefix of its id; a prefix two share is refused in one line', async () => {
    const name = `scr-e2e-${RUN}`;
    const [a, b] = await Promise.all([detached('exec sleep 30', ['--name', name]), detached('exec sleep 30')]);
    try {
      const byName = JSON.parse((await ctr(['inspect', name])).stdout) as { id: string }[];
      expect(byName.map((s) => s.id)).toEqual([a]);
      const byPrefix = JSON.parse((await ctr(['inspect', b.slice(0, 9)])).stdout) as { id: string }[];
      expect(byPrefix.map((s) => s.id)).toEqual([b]);
      // Both ids (and those of the tests beside this one) start with this run's prefix.
      const shared = await ctr(['exec', RUN, 'true']);
      expect(shared.exitCode).toBe(125);
      expect(oneLine(shared.stderr), shared.stderr).toBe(true);
      expect(shared.stderr).toMatch(new RegExp(`"${RUN}" matches \\d+ containers`));
      const none = await ctr(['stop', `${RUN}zz`]);
      expect(none.exitCode).toBe(125);
      expect(none.stderr).toContain('no such container');
    } finally {
      await ctr(['rm', '-f', a, b]);
    }
    expect(await leftoversOf(a, b)).toEqual([]);
  });

  it('run -d -i is refused in one line with nothing made; logs of an attached container says where its output went', async () => {
    const id = newId();
    const r = await ctr(['run', '-d', '-i', '--network', 'none', DEFAULT_ROOTFS, 'cat'], { id });
    expect(r.exitCode).toBe(125);
    expect(oneLine(r.stderr), r.stderr).toBe(true);
    expect(await leftoversOf(id)).toEqual([]);
    const attached = newId();
    expect(
      (await ctr(['run', '--network', 'none', DEFAULT_ROOTFS, 'echo', 'to-terminal'], { id: attached })).stdout,
    ).toBe('to-terminal');
    try {
      const logs = await ctr(['logs', attached]);
      expect(logs.exitCode).toBe(0);
      expect(logs.stdout).toBe('');
      expect(logs.stderr).toContain('ran attached');
    } finally {
      await ctr(['rm', attached]);
    }
    expect(await leftoversOf(attached)).toEqual([]);
  });
});

describe.skipIf(!canRunIntegration)('a published UDP port', () => {
  /** Send one datagram from the host side and print the answer (node's dgram: busybox's nc has no -u). */
  const ASK = [
    "const d = require('dgram').createSocket('udp4');",
    'const [addr, port, msg] = process.argv.slice(1);',
    "d.on('message', (m) => { console.log(String(m)); d.close(); });",
    'd.send(msg, Number(port), addr);',
    "setTimeout(() => { console.log('no answer'); process.exit(1); }, 2000).unref();",
  ].join('\n');
  /** In the container: answer every datagram with `echo:` and it, and log it. */
  const ECHO =
    '$| = 1; my $s = IO::Socket::INET->new(LocalPort => 53, Proto => "udp") or die "$!"; print "listening\\n";' +
    ' while ($s->recv(my $m, 512)) { print "got $m\\n"; $s->send("echo:$m") }';

  it.skipIf(!hasPerl)(
    '-p 5353:53/udp: a datagram to the host’s port 5353 reaches the container’s 53 and is answered; the port is then taken for UDP only',
    async () => {
      const id = newId();
      const r = await ctr(['run', '-d', '-p', '5353:53/udp', DEBIAN_ROOTFS, 'perl', '-MIO::Socket::INET', '-e', ECHO], {
        id,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      try {
        await logged(id, 'listening');
        expect((await ctr(['ps'])).stdout).toMatch(new RegExp(`^${id} .*0\\.0\\.0\\.0:5353->53/udp`, 'm'));
        const rules = (await host.exec(['iptables', '-t', 'nat', '-S'])).stdout;
        expect(rules).toMatch(new RegExp(`-p udp .*--dport 5353 .*scr:${id}:publish`));
        const answer = await host.exec([process.execPath, '-e', ASK, '127.0.0.1', '5353', 'hello-udp']);
        expect(answer.stdout).toBe('echo:hello-udp');
        expect(logOf(id)).toContain('got hello-udp\n');
        // Control: a port nobody published gets no answer.
        const unpublished = await host.exec([process.execPath, '-e', ASK, '127.0.0.1', '5354', 'hello-udp']);
        expect(unpublished.stdout).toBe('no answer');
        // The same host port over UDP again is refused in one line naming the holder; over TCP it is free.
        const [udpAgain, tcp] = [newId(), newId()];
        const again = await ctr(['run', '--rm', '-p', '5353:53/udp', DEFAULT_ROOTFS, 'true'], { id: udpAgain });
        expect(again.exitCode).toBe(125);
        expect(oneLine(again.stderr), again.stderr).toBe(true);
        expect(again.stderr).toContain(`host port 5353/udp is already published by container ${id}`);
        const overTcp = await ctr(['run', '--rm', '-p', '5353:53', DEFAULT_ROOTFS, 'true'], { id: tcp });
        expect(overTcp.exitCode, overTcp.stderr).toBe(0);
        expect(await leftoversOf(udpAgain, tcp)).toEqual([]);
      } finally {
        await ctr(['rm', '-f', id]);
      }
      expect((await host.exec(['iptables', '-t', 'nat', '-S'])).stdout).not.toContain(`scr:${id}:`);
      expect(await leftoversOf(id)).toEqual([]);
    },
  );
});

describe.skipIf(!canRunIntegration)('every command’s --help and mistakes', () => {
  /** The commands `ctr --help` lists: a new command is covered as soon as it is listed. */
  const commands = async () =>
    [...(await ctr(['--help'])).stdout.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1] ?? '').filter(Boolean);
  /** Commands whose arguments are all optional. */
  const NO_ARGS_NEEDED = new Set(['ps', 'images']);

  it('--help prints the command’s usage on stdout and exits 0', async () => {
    const names = await commands();
    expect(names).toEqual(expect.arrayContaining(['run', 'ps', 'exec', 'logs', 'stop', 'kill', 'rm', 'inspect']));
    const results = await Promise.all(names.map((c) => ctr([c, '--help'])));
    results.forEach((r, i) => {
      expect(r.exitCode, names[i]).toBe(0);
      expect(r.stdout, names[i]).toMatch(new RegExp(`^usage: ctr ${names[i]}\\b`));
      expect(r.stderr, names[i]).toBe('');
    });
  });

  it('an unknown flag, a flag without its value, a missing argument: one line naming it and the fix, exit 125', async () => {
    const names = await commands();
    const cases: string[][] = [
      ...names.map((c) => [c, '--no-such-flag']),
      ...names.filter((c) => !NO_ARGS_NEEDED.has(c)).map((c) => [c]),
      ['run', '--name'],
      ['stop', 'x', '-t'],
      ['kill', '-s'],
      ['stop', '-t', 'soon', 'x'],
      ['kill', '-s', 'NOPE', 'x'],
      ['run', '-x', DEFAULT_ROOTFS, 'true'],
    ];
    const results = await Promise.all(cases.map((args) => ctr(args)));
    results.forEach((r, i) => {
      const what = (cases[i] ?? []).join(' ');
      expect(r.exitCode, what).toBe(125);
      expect(oneLine(r.stderr), `${what}: ${r.stderr}`).toBe(true);
      expect(r.stderr, what).toContain(' — fix: ');
    });
    const unknown = results.slice(0, names.length);
    unknown.forEach((r, i) => {
      expect(r.stderr).toContain('unknown flag: --no-such-flag');
      expect(r.stderr).toContain(`ctr ${names[i]} --help`);
    });
  });
});
