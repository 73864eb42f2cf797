/**
 * The runtime core, for real: both init executors, per-container roots, the hand-over, observed from the host.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBundle } from '../../lib/bundle.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { startContainer, runContainer, type Container } from '../../lib/container/start.ts';
import type { Executor } from '../../lib/init/plan.ts';
import { build, isolatedSpec, withOverlay } from '../../lib/kit.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { readMountinfo } from '../../lib/mountinfo.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { readNsPid } from '../../lib/namespaces.ts';
import { createRunner } from '../../lib/runner.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { testId } from '../helpers/lesson.ts';

const runner = createRunner();
let init: Awaited<ReturnType<typeof initBundle>>;

function status(pid: number, field: string): string {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line?.split(':')[1]?.trim() ?? '';
}

const environ = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
const fds = (pid: number) =>
  fs
    .readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);

/** An fd opened without close-on-exec, as a terminal multiplexer or CI runner leaves one to its children. */
async function leakAnFd(): Promise<number> {
  const { default: koffi } = await import('koffi');
  const open = koffi.load('libc.so.6').func('int open(const char *path, int flags)');
  return open('/etc/hostname', 0) as number;
}

async function withContainer<T>(
  executor: Executor,
  spec: ReturnType<typeof isolatedSpec>,
  look: (c: Container) => T | Promise<T>,
): Promise<T> {
  const cleanup = new CleanupStack();
  try {
    const c = await startContainer(runner, cleanup, spec, { executor, init });
    return await look(c);
  } finally {
    await cleanup.unwind();
  }
}

describe.skipIf(!canRunIntegration)('the runtime core', () => {
  beforeAll(async () => {
    init = await initBundle();
  });

  it('a rootfs holding one static binary, no shell and no umount, runs under the TypeScript init', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-static-'));
    try {
      fs.copyFileSync(path.join(DEFAULT_ROOTFS, 'bin', 'busybox'), path.join(dir, 'busybox'));
      fs.chmodSync(path.join(dir, 'busybox'), 0o755);
      const id = testId('99');
      const spec = isolatedSpec({ id, rootfs: dir, args: ['/busybox', 'echo', 'hello from a scratch image'] });
      const cleanup = new CleanupStack();
      const r = await runContainer(runner, cleanup, spec, { executor: 'ts', init });
      await cleanup.unwind();
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hello from a scratch image');
      expect(r.exitCode).toBe(0);
      expect(fs.existsSync(path.join(dir, '.oldroot'))).toBe(false);
      expect(await leftoversOf(id)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sh init refuses that rootfs in one line, before anything is made', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-static-'));
    try {
      const spec = isolatedSpec({ id: testId('99'), rootfs: dir, args: ['/hello'] });
      await expect(runContainer(runner, new CleanupStack(), spec, { executor: 'sh' })).rejects.toThrow(
        /has no umount, which the sh init runs after pivot_root/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('16 containers started at the same moment on one rootfs all succeed, with each executor', async () => {
    for (const executor of ['sh', 'ts'] as const) {
      const cleanup = new CleanupStack();
      const ids = Array.from({ length: 16 }, () => testId('99'));
      try {
        const results = await Promise.allSettled(
          ids.map((id) =>
            runContainer(runner, cleanup, isolatedSpec({ id, rootfs: DEFAULT_ROOTFS, args: ['hostname'] }), {
              executor,
              init,
              readyTimeoutMs: 60_000,
            }),
          ),
        );
        const failed = results.filter((r) => r.status === 'rejected' || r.value.exitCode !== 0);
        expect(failed, `${executor}: ${JSON.stringify(failed).slice(0, 500)}`).toEqual([]);
        const names = results.map((r) => (r.status === 'fulfilled' ? r.value.stdout.trim() : ''));
        expect(new Set(names).size).toBe(16);
      } finally {
        await cleanup.unwind();
      }
      expect(fs.existsSync(path.join(DEFAULT_ROOTFS, '.oldroot'))).toBe(false);
      expect(await leftoversOf(...ids)).toEqual([]);
    }
  });

  it.each(['sh', 'ts'] as const)(
    'the %s init hands over cleanly: exactly the spec’s environment, fds 0–2, default signals, nothing blocked',
    async (executor) => {
      const leaked = await leakAnFd();
      try {
        const spec = isolatedSpec({ id: testId('99'), rootfs: DEFAULT_ROOTFS, args: ['sleep', '300'] });
        const seen = await withContainer(executor, spec, (c) => ({
          env: environ(c.hostPid),
          fds: fds(c.hostPid),
          ignored: status(c.hostPid, 'SigIgn'),
          blocked: status(c.hostPid, 'SigBlk'),
          nspid: readNsPid(c.hostPid),
        }));
        expect([...seen.env].sort()).toEqual([...spec.process.env].sort());
        expect(seen.fds).toEqual([0, 1, 2]);
        expect(seen.ignored).toBe('0000000000000000');
        expect(seen.blocked).toBe('0000000000000000');
        expect(seen.nspid.at(-1)).toBe(1);
      } finally {
        fs.closeSync(leaked);
      }
    },
  );

  it('both renderings of one plan give the same container, seen from the host', async () => {
    const look = async (c: Container) => {
      const mounts = readMountinfo(c.hostPid)
        .map((m) => `${m.mountPoint} ${m.fsType}`)
        .sort();
      const hostname = await runner.run(['nsenter', '--target', String(c.hostPid), '--uts', 'hostname']);
      return {
        hostname: hostname.stdout.trim(),
        pidInside: readNsPid(c.hostPid).at(-1),
        mounts,
        env: environ(c.hostPid).sort(),
        fds: fds(c.hostPid),
        caps: status(c.hostPid, 'CapEff'),
        root: fs.readdirSync(`/proc/${c.hostPid}/root`).sort(),
      };
    };
    const a = await withContainer(
      'sh',
      isolatedSpec({ id: testId('99'), rootfs: DEFAULT_ROOTFS, args: ['sleep', '300'], hostname: 'same' }),
      look,
    );
    const b = await withContainer(
      'ts',
      isolatedSpec({ id: testId('99'), rootfs: DEFAULT_ROOTFS, args: ['sleep', '300'], hostname: 'same' }),
      look,
    );
    expect(b).toEqual(a);
    expect(a.hostname).toBe('same');
    expect(a.pidInside).toBe(1);
    // The root is a bind of the rootfs, so it has the type of the host filesystem the rootfs lives on.
    const hostFs = readMountinfo('self')
      .filter(
        (m) => DEFAULT_ROOTFS === m.mountPoint || DEFAULT_ROOTFS.startsWith(`${m.mountPoint.replace(/\/$/, '')}/`),
      )
      .sort((x, y) => y.mountPoint.length - x.mountPoint.length)[0]?.fsType;
    expect(a.mounts).toEqual(expect.arrayContaining([`/ ${hostFs}`, '/proc proc', '/dev tmpfs', '/sys sysfs']));
  });

  it('an overlay root: writes land in the container’s own upper dir, the rootfs is untouched', async () => {
    const id = testId('99');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-ovl-'));
    try {
      for (const d of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(dir, d));
      const spec = build(
        isolatedSpec({ id, rootfs: DEFAULT_ROOTFS, args: ['sh', '-c', 'echo hi > /tmp/written; rm /etc/os-release'] }),
        withOverlay(path.join(dir, 'rootfs'), {
          type: 'overlay',
          lower: [DEFAULT_ROOTFS],
          upper: path.join(dir, 'upper'),
          work: path.join(dir, 'work'),
        }),
      );
      const cleanup = new CleanupStack();
      const r = await runContainer(runner, cleanup, spec, { executor: 'ts', init });
      await cleanup.unwind();
      expect(r.exitCode, r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'upper', 'tmp', 'written'), 'utf8')).toBe('hi\n');
      const whiteout = fs.statSync(path.join(dir, 'upper', 'etc', 'os-release'));
      expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
      expect(fs.existsSync(path.join(DEFAULT_ROOTFS, 'etc', 'os-release'))).toBe(true);
      expect(fs.existsSync(path.join(DEFAULT_ROOTFS, 'tmp', 'written'))).toBe(false);
      // The overlay lived in the container's mount namespace only: nothing of it on the host.
      expect(readMountinfo().filter((m) => m.mountPoint.startsWith(dir))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a command that is not there is one line and exit 127; one that cannot be executed, 126', async () => {
    const cleanup = new CleanupStack();
    try {
      const missing = isolatedSpec({ id: testId('99'), rootfs: DEFAULT_ROOTFS, args: ['no-such-command'] });
      await expect(runContainer(runner, cleanup, missing, { executor: 'ts', init })).rejects.toMatchObject({
        exitCode: 127,
        message: expect.stringContaining('exec: "no-such-command": executable file not found in $PATH'),
      });
      const notExec = isolatedSpec({ id: testId('99'), rootfs: DEFAULT_ROOTFS, args: ['/etc/passwd'] });
      await expect(runContainer(runner, cleanup, notExec, { executor: 'ts', init })).rejects.toMatchObject({
        exitCode: 126,
      });
    } finally {
      await cleanup.unwind();
    }
  });
});
