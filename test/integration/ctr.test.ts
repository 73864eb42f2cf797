/**
 * ctr as a user types it: real containers, docker's exit codes, a detached lifecycle, nothing left behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../lib/container/state.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { readNamespaces } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';

const CTR = path.resolve(import.meta.dirname, '../../bin/ctr.mjs');
const newId = () => crypto.randomBytes(5).toString('hex');
/**
 * Every ctr here runs in a network namespace of this test's own, which plays the host: ctr's bridge, addresses
 * and iptables rules are made there, never in this machine's own network namespace.
 */
const HOST_NETNS = `scrt${crypto.randomBytes(3).toString('hex')}`;
const ctr = (args: string[], opts: { id?: string; input?: string } = {}) => {
  const [file, ...prefix] = canRunIntegration
    ? ['nsenter', `--net=/run/netns/${HOST_NETNS}`, '--', process.execPath]
    : [process.execPath];
  return execa(file ?? 'node', [...prefix, CTR, ...args], {
    reject: false,
    input: opts.input ?? '',
    env: { FORCE_COLOR: '0', ...(opts.id ? { SCRATCH_RUN_ID: opts.id } : {}) },
  });
};
const hasStackTrace = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);
const oneLine = (text: string) => text.trim().split('\n').length === 1 && !hasStackTrace(text);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  if (!canRunIntegration) return;
  await execa('ip', ['netns', 'add', HOST_NETNS]);
  await execa('ip', ['-n', HOST_NETNS, 'link', 'set', 'lo', 'up']);
});
afterAll(async () => {
  if (canRunIntegration) await execa('ip', ['netns', 'delete', HOST_NETNS], { reject: false });
});

describe('ctr, for any user', () => {
  it('--help lists the commands, and each command has its own help', async () => {
    const r = await ctr(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of ['run', 'ps', 'exec', 'logs', 'stop', 'kill', 'rm', 'inspect'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).not.toContain('__shim');
    const run = await ctr(['run', '--help']);
    expect(run.stdout).toContain('usage: ctr run [OPTIONS] IMAGE|ROOTFS [COMMAND] [ARG...]');
    expect(run.stdout).toMatch(/-m, --memory SIZE/);
  });

  it('an unknown command or flag is one line and exit 125', async () => {
    for (const args of [
      ['frobnicate'],
      ['run', '--bogus', DEFAULT_ROOTFS, 'true'],
      ['run', '-m', '12q', DEFAULT_ROOTFS, 'true'],
    ]) {
      const r = await ctr(args);
      expect(r.exitCode, args.join(' ')).toBe(125);
      expect(oneLine(r.stderr), r.stderr).toBe(true);
    }
  });
});

describe.skipIf(!canRunIntegration)('ctr, as root', () => {
  it('run --rm: the command’s output and exit code, and nothing left afterwards', async () => {
    const id = newId();
    const r = await ctr(
      ['run', '--rm', '--hostname', 'box', DEFAULT_ROOTFS, 'sh', '-c', 'echo "$(hostname) $$"; exit 3'],
      { id },
    );
    expect(r.stdout).toBe('box 1');
    expect(r.exitCode).toBe(3);
    expect(await leftoversOf(id)).toEqual([]);
    expect(fs.existsSync(`/var/lib/scratch/containers/${id}`)).toBe(false);
  });

  it('docker’s exit codes: 127 for a command that is not there, 126 for one that cannot run, 125 for a bad rootfs', async () => {
    const missing = await ctr(['run', '--rm', DEFAULT_ROOTFS, 'no-such-command'], { id: newId() });
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('exec: "no-such-command": executable file not found in $PATH');
    expect(oneLine(missing.stderr)).toBe(true);
    const notExec = await ctr(['run', '--rm', DEFAULT_ROOTFS, '/etc/passwd']);
    expect(notExec.exitCode).toBe(126);
    const noRootfs = await ctr(['run', '--rm', '/nonexistent/scr', 'true']);
    expect(noRootfs.exitCode).toBe(125);
    expect(noRootfs.stderr).toMatch(/no such rootfs directory: \/nonexistent\/scr — fix: /);
    const file = await ctr(['run', '--rm', CTR, 'true']);
    expect(file.exitCode).toBe(125);
  });

  it('run -d → state file → ps → exec in the same namespaces and cgroup → logs → stop → rm leaves nothing', async () => {
    const id = newId();
    const name = `scrt${id.slice(0, 4)}`;
    const started = await ctr(
      ['run', '-d', '--name', name, '--pids-limit', '30', DEFAULT_ROOTFS, 'sh', '-c', 'echo up; exec sleep 300'],
      { id },
    );
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toBe(id);
    try {
      const state = readState(id);
      expect(state?.status).toBe('running');
      expect(state?.pid).toBeGreaterThan(1);
      const pid = state?.pid ?? 0;

      const ps = await ctr(['ps']);
      expect(ps.stdout).toMatch(new RegExp(`^${id} .* Up .* ${name}$`, 'm'));

      // The exec'd process reports its namespaces; the host compares them with PID 1's.
      const exec = await ctr([
        'exec',
        name,
        'sh',
        '-c',
        'for n in ipc mnt net pid uts cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup',
      ]);
      expect(exec.exitCode, exec.stderr).toBe(0);
      const theirs = readNamespaces(pid);
      for (const [kind, inode] of Object.entries(theirs)) {
        if (['ipc', 'mnt', 'net', 'pid', 'uts', 'cgroup'].includes(kind))
          expect(exec.stdout).toContain(`${kind}:[${inode}]`);
      }
      // While an exec runs, the container's cgroup holds it: two processes in pids.current, as the host counts.
      const busy = ctr(['exec', name, 'sleep', '2']);
      await sleep(800);
      const pidsDir = (state?.cgroupDirs ?? []).find(
        (d) => d.includes('/pids/') || fs.existsSync(path.join(d, 'pids.current')),
      );
      expect(Number(fs.readFileSync(path.join(pidsDir ?? '', 'pids.current'), 'utf8'))).toBe(2);
      expect((await busy).exitCode).toBe(0);

      expect((await ctr(['logs', name])).stdout).toBe('up');
      const stop = await ctr(['stop', '-t', '1', name]);
      expect(stop.exitCode).toBe(0);
      expect(readState(id)?.status).toBe('exited');
      expect(readState(id)?.exitCode).toBe(137);
      // The cgroup went with the process; the state and the container's directory stay until rm.
      expect((state?.cgroupDirs ?? []).filter((d) => fs.existsSync(d))).toEqual([]);
      expect((await ctr(['ps', '-a'])).stdout).toMatch(new RegExp(`^${id} .* Exited \\(137\\) .* ${name}$`, 'm'));

      const again = await ctr(['stop', name]);
      expect(again.exitCode).toBe(125);
      expect(again.stderr).toContain('is not running');
      const execStopped = await ctr(['exec', name, 'true']);
      expect(execStopped.exitCode).toBe(125);
      expect(oneLine(execStopped.stderr)).toBe(true);
    } finally {
      await ctr(['rm', '-f', name]);
    }
    expect(await leftoversOf(id)).toEqual([]);
    expect(fs.existsSync(`/var/lib/scratch/containers/${id}`)).toBe(false);
    expect((await ctr(['inspect', name])).exitCode).toBe(125);
  });

  it('docker’s default profile for PID 1, and the very same for an exec’d process: capabilities, no_new_privs, seccomp', async () => {
    const id = newId();
    const fields = /^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):.*$/gm;
    const started = await ctr(
      ['run', '-d', '--security-opt', 'no-new-privileges', '--user', '1000:1000', DEFAULT_ROOTFS, 'sleep', '300'],
      { id },
    );
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      const pid = readState(id)?.pid ?? 0;
      const first = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(fields) ?? [];
      expect(first).toContain('CapBnd:\t00000000a80425fb');
      // A user other than root gets the bounding set only, as docker gives it (moby's SetCapabilities).
      expect(first).toContain('CapEff:\t0000000000000000');
      expect(first).toContain('CapPrm:\t0000000000000000');
      expect(first).toContain('NoNewPrivs:\t1');
      expect(first).toContain('Seccomp:\t2');
      const exec = await ctr(['exec', id, 'sh', '-c', 'id -u; cat /proc/self/status']);
      expect(exec.stdout.split('\n')[0]).toBe('1000');
      expect(exec.stdout.match(fields)).toEqual(first);
      // What plain nsenter would have given instead: the host root's full set (lesson 10 shows it).
      expect(fs.readFileSync('/proc/self/status', 'utf8')).not.toContain('CapBnd:\t00000000a80425fb');
    } finally {
      await ctr(['rm', '-f', id]);
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('-p 8080:80: a busybox httpd answers on the host’s 127.0.0.1 and bridge address; its rules go with rm', async () => {
    const [a, b] = [newId(), newId()];
    const inHost = (argv: string[]) =>
      execa('nsenter', [`--net=/run/netns/${HOST_NETNS}`, '--', ...argv], { reject: false });
    const get = (addr: string) =>
      inHost(['sh', '-c', `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${addr} 8080`]);
    const web = await ctr(
      [
        'run',
        '-d',
        '-p',
        '8080:80',
        DEFAULT_ROOTFS,
        'sh',
        '-c',
        'mkdir -p /www && echo hello-from-ctr > /www/index.html && exec httpd -f -p 80 -h /www',
      ],
      { id: a },
    );
    expect(web.exitCode, web.stderr).toBe(0);
    try {
      expect((await get('127.0.0.1')).stdout).toContain('hello-from-ctr');
      const rules = await inHost(['iptables', '-t', 'nat', '-S']);
      expect(rules.stdout).toContain(`scr:${a}:`);
      expect((await ctr(['ps'])).stdout).toContain('0.0.0.0:8080->80/tcp');
      // A second container reaches the first by its address on the bridge.
      const addr = /inet (\d+\.\d+\.\d+\.\d+)/.exec(
        (await ctr(['exec', a, 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout,
      )?.[1];
      expect(addr).toMatch(/^10\.30\.0\.\d+$/);
      const other = await ctr(
        [
          'run',
          '--rm',
          DEFAULT_ROOTFS,
          'sh',
          '-c',
          `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${addr} 80`,
        ],
        { id: b },
      );
      expect(other.stdout).toContain('hello-from-ctr');
    } finally {
      await ctr(['rm', '-f', a]);
    }
    expect((await inHost(['iptables', '-t', 'nat', '-S'])).stdout).not.toContain(`scr:${a}:`);
    expect(await leftoversOf(a, b)).toEqual([]);
  });

  it('two containers with one name: the second is refused in one line, and nothing of it is made', async () => {
    const [a, b] = [newId(), newId()];
    const name = `scrn${a.slice(0, 4)}`;
    expect((await ctr(['run', '-d', '--name', name, DEFAULT_ROOTFS, 'sleep', '300'], { id: a })).exitCode).toBe(0);
    try {
      const second = await ctr(['run', '-d', '--name', name, DEFAULT_ROOTFS, 'sleep', '300'], { id: b });
      expect(second.exitCode).toBe(125);
      expect(second.stderr).toContain(`the name "${name}" is already in use by container ${a}`);
      expect(await leftoversOf(b)).toEqual([]);
    } finally {
      await ctr(['rm', '-f', name]);
    }
    expect(await leftoversOf(a)).toEqual([]);
  });

  it('a killed waiter, then a vanished process: shown as exited, never as running', async () => {
    const id = newId();
    expect((await ctr(['run', '-d', DEFAULT_ROOTFS, 'sleep', '300'], { id })).exitCode).toBe(0);
    try {
      const s = readState(id);
      process.kill(s?.shimPid ?? 0, 'SIGKILL');
      process.kill(s?.pid ?? 0, 'SIGKILL');
      await sleep(300);
      const ps = await ctr(['ps', '-a']);
      expect(ps.stdout).toMatch(new RegExp(`^${id} .* Exited \\(\\?\\)`, 'm'));
      expect((await ctr(['ps'])).stdout).not.toContain(id);
      expect(JSON.parse((await ctr(['inspect', id])).stdout)[0].exitReason).toContain('its waiter');
    } finally {
      await ctr(['rm', '-f', id]);
    }
    expect(await leftoversOf(id)).toEqual([]);
  });
});
