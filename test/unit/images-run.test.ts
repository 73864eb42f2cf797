/**
 * Lessons 06–07 and ctr's image commands, the parts that are plain data: a layer's entry names as actions, an
 * image's config as a container's process, docker commit's --change, per-layer progress lines, the syscall
 * listing of a long overlay, a free port, where an upper directory may live. No root needed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overlayPaths, overlayRootOps } from '../../lib/container/root.ts';
import { parseChanges } from '../../lib/ctr/commands/changes.ts';
import { resolveRunSource } from '../../lib/ctr/commands/run.ts';
import { layerDisplay, layerLine } from '../../lib/ctr/layer-progress.ts';
import { runRequest, type RunSource } from '../../lib/ctr/run-spec.ts';
import { UserError } from '../../lib/errors.ts';
import { showHostOp } from '../../lib/hostops.ts';
import type { ImageConfig } from '../../lib/image/config.ts';
import { ImageStore } from '../../lib/image/store.ts';
import { layerEntryAction } from '../../lib/image/whiteout.ts';
import { dataPieces, renderSyscalls } from '../../lib/init/render-syscalls.ts';
import { initPlan } from '../../lib/init/plan.ts';
import { build, isolatedSpec, withImageProcess, withOverlay } from '../../lib/kit.ts';
import { unusedTcpPort, type Socket } from '../../lib/network/ports.ts';
import { fsTypeOf, upperUnsupported } from '../../lib/overlay.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-images-run-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('layerEntryAction: a layer tar entry name as what unpacking does', () => {
  it('an ordinary entry is created in its directory', () => {
    expect(layerEntryAction('etc/passwd')).toEqual({ action: 'create', dir: 'etc', name: 'passwd' });
    expect(layerEntryAction('bin')).toEqual({ action: 'create', dir: '', name: 'bin' });
  });

  it('.wh.NAME deletes NAME in the same directory; .wh..wh..opq makes the directory opaque', () => {
    expect(layerEntryAction('etc/.wh.os-release')).toEqual({ action: 'whiteout', dir: 'etc', name: 'os-release' });
    expect(layerEntryAction('.wh.tmp')).toEqual({ action: 'whiteout', dir: '', name: 'tmp' });
    expect(layerEntryAction('srv/app/.wh..wh..opq')).toEqual({ action: 'opaque', dir: 'srv/app' });
  });

  it('aufs bookkeeping, and anything inside it, is skipped', () => {
    expect(layerEntryAction('.wh..wh.plnk')).toEqual({ action: 'skip' });
    expect(layerEntryAction('.wh..wh.plnk/123.4')).toEqual({ action: 'skip' });
    expect(layerEntryAction('a/.wh..wh.aufs/b/c')).toEqual({ action: 'skip' });
  });
});

function imageDir(name: string, files: Record<string, string>): string {
  const dir = path.join(scratch, name);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const CONFIG: ImageConfig = {
  config: {
    Env: ['PATH=/bin', 'GREETING=hi'],
    Cmd: ['cat', '/etc/greeting'],
    WorkingDir: '/home/app',
    User: 'app',
  },
  rootfs: { type: 'layers', diff_ids: [] },
};

describe('ctr run IMAGE: the config becomes the container’s process', () => {
  const layer = imageDir('image', {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
    'etc/group': 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n',
  });
  const image: RunSource = { kind: 'image', image: 'app:1', id: 'sha256:ab', config: CONFIG, lowerDirs: [layer] };
  const request = (flags: Record<string, string | boolean | string[]>, args: string[] = []) =>
    runRequest(flags, image, args, { id: '0123456789', hostEnv: {}, cpus: [0] });

  it('Cmd, Env, WorkingDir and User — the user and groups from the image’s own passwd and group', () => {
    const r = request({});
    expect(r.spec.process.args).toEqual(['cat', '/etc/greeting']);
    expect(r.spec.process.env).toEqual(['HOSTNAME=0123456789', 'PATH=/bin', 'GREETING=hi', 'HOME=/home/app']);
    expect(r.spec.process.cwd).toBe('/home/app');
    expect(r.spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [50] });
    expect(r.layers).toEqual([layer]);
    expect(r.imageId).toBe('sha256:ab');
  });

  it('arguments replace Cmd; -w, -u and -e override; --entrypoint replaces Entrypoint and drops Cmd', () => {
    expect(request({}, ['id']).spec.process.args).toEqual(['id']);
    const r = request({ workdir: '/tmp', user: 'root', env: ['GREETING=bye'] });
    expect(r.spec.process.cwd).toBe('/tmp');
    expect(r.spec.process.user).toEqual({ uid: 0, gid: 0, additionalGids: [] });
    expect(r.spec.process.env).toContain('GREETING=bye');
    expect(r.spec.process.env).toContain('HOME=/root');
    expect(request({ entrypoint: '/bin/echo' }).spec.process.args).toEqual(['/bin/echo']);
    expect(request({ entrypoint: '/bin/echo' }, ['x']).spec.process.args).toEqual(['/bin/echo', 'x']);
  });

  it('a user the image does not have, an image with no command, --entrypoint on a rootfs: one-line errors', () => {
    expect(() => request({ user: 'nobody' })).toThrow(/unable to find user nobody in the image/);
    const bare: RunSource = { ...image, config: { ...CONFIG, config: { Env: [] } } } as RunSource;
    expect(() => runRequest({}, bare, [], { id: '0123456789', hostEnv: {} })).toThrow(/has no command/);
    const rootfs: RunSource = { kind: 'rootfs', image: '/r', path: layer };
    expect(() => runRequest({ entrypoint: 'x' }, rootfs, ['sh'], { hostEnv: {} })).toThrow(UserError);
  });

  it('a path is a rootfs directory, a name an image in the store; neither is one line naming both ways', () => {
    const store = new ImageStore(path.join(scratch, 'store'));
    expect(resolveRunSource(layer, store)).toMatchObject({ kind: 'rootfs', path: fs.realpathSync(layer) });
    expect(() => resolveRunSource('scratch/none', store)).toThrow(/no such image or rootfs directory: scratch\/none/);
  });

  it('withImageProcess keeps the container’s HOSTNAME and an image’s own HOME', () => {
    const spec = build(
      isolatedSpec({ id: 'x', rootfs: '/r', args: ['true'], hostname: 'box' }),
      withImageProcess(
        { args: ['a'], env: ['HOME=/data'], cwd: '/' },
        { uid: 1, gid: 2, additionalGids: [], home: '/h' },
      ),
    );
    expect(spec.process.env).toEqual(['HOSTNAME=box', 'HOME=/data']);
  });
});

describe('ctr commit --change', () => {
  it('CMD and ENTRYPOINT in JSON or shell form, ENV as K=V or K V, WORKDIR, USER', () => {
    expect(
      parseChanges(
        ['CMD ["cat","/x"]', 'entrypoint /bin/run it', 'ENV A=1', 'ENV B 2', 'WORKDIR /w', 'USER app'],
        ['A=0', 'C=3'],
      ),
    ).toEqual({
      Cmd: ['cat', '/x'],
      Entrypoint: ['/bin/sh', '-c', '/bin/run it'],
      Env: ['C=3', 'A=1', 'B=2'],
      WorkingDir: '/w',
      User: 'app',
    });
  });

  it('anything else, or a list that is not one, is one line', () => {
    expect(() => parseChanges(['EXPOSE 80'])).toThrow(/not supported/);
    expect(() => parseChanges(['CMD ["a",'])).toThrow(/not a JSON list/);
    expect(() => parseChanges(['CMD [1]'])).toThrow(/a list of strings/);
  });
});

describe('per-layer progress without a terminal', () => {
  it('one line per layer, bottom layer first, whatever order they finish in', () => {
    const out: string[] = [];
    const d = layerDisplay({ tty: false, write: (t) => out.push(t), verb: 'pull' });
    const p = (index: number, state: 'exists' | 'start' | 'bytes' | 'done', bytes = 0) =>
      d.onProgress({ index, count: 3, diffId: `sha256:${String(index).repeat(64)}`, state, bytes });
    p(0, 'exists');
    p(1, 'start');
    p(2, 'start');
    p(2, 'done', 2048);
    expect(out).toEqual([`${'0'.repeat(12)}: Already exists\n`]);
    p(1, 'done', 10);
    expect(out.slice(1)).toEqual([
      `${'1'.repeat(12)}: Pull complete (10 bytes)\n`,
      `${'2'.repeat(12)}: Pull complete (2 KiB)\n`,
    ]);
    expect(layerLine({ index: 0, count: 1, diffId: `sha256:${'a'.repeat(64)}`, state: 'done', bytes: 1 }, 'load')).toBe(
      `${'a'.repeat(12)}: Loaded (1 bytes)`,
    );
  });
});

describe('the syscall listing of an overlay root', () => {
  it('long mount options are cut into C string pieces, digests into 12 digits', () => {
    const layer = (c: string) => `/var/lib/scratch/layers/sha256/${c.repeat(64)}`;
    const o = overlayPaths('07ab12n', [layer('a'), layer('b')]);
    const spec = build(isolatedSpec({ id: '07ab12n', rootfs: '/r', args: ['true'] }), withOverlay(o.root, o.rootfs));
    const text = renderSyscalls(initPlan(spec, { mode: 'run', executor: 'ts' }));
    expect(text).toContain('"lowerdir=/var/lib/scratch/layers/sha256/aaaaaaaaaaaa…"');
    expect(text).toContain('":/var/lib/scratch/layers/sha256/bbbbbbbbbbbb…"');
    expect(text).not.toMatch(/[ab]{13}/);
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThan(140);
    expect(dataPieces('lowerdir=/a:/b,upperdir=/u')).toEqual(['lowerdir=/a:/b,upperdir=/u']);
    expect(dataPieces(`x=${'y'.repeat(60)},z=1`).join('')).toBe(`x=${'y'.repeat(60)},z=1`);
  });

  it("a container's overlay directories are made in order, its own directory first and root's only", () => {
    const o = overlayPaths('06ab12a', ['/r']);
    expect(overlayRootOps(o).map(showHostOp)).toEqual([
      'mkdir -p -m 700 /var/lib/scratch/containers/06ab12a',
      'mkdir /var/lib/scratch/containers/06ab12a/upper',
      'mkdir /var/lib/scratch/containers/06ab12a/work',
      'mkdir /var/lib/scratch/containers/06ab12a/rootfs',
    ]);
    expect(showHostOp({ kind: 'write', path: '/l/a/etc/motd', value: 'hello\n' })).toBe('echo hello > /l/a/etc/motd');
    expect(showHostOp({ kind: 'write', path: '/x', value: '20' })).toBe('echo 20 > /x');
  });
});

describe('small host facts', () => {
  it('a free TCP port: the first one up from where nothing listens', () => {
    const s = (port: number, protocol: 'tcp' | 'udp' = 'tcp'): Socket => ({
      protocol,
      address: '0.0.0.0',
      port,
      state: '0A',
    });
    expect(unusedTcpPort(5000, [])).toBe(5000);
    expect(unusedTcpPort(5000, [s(5000), s(5001), s(5002, 'udp')])).toBe(5002);
  });

  it('where an upper directory may live: not on overlayfs, not on a network filesystem', () => {
    expect(upperUnsupported('ext4')).toBeUndefined();
    expect(upperUnsupported('tmpfs')).toBeUndefined();
    expect(upperUnsupported('overlay')).toMatch(/cannot be the upper layer of another overlay/);
    expect(upperUnsupported('nfs')).toMatch(/lacks what an upper layer needs/);
    if (process.platform === 'linux') expect(fsTypeOf('/nonexistent/deeper')).toBe(fsTypeOf('/'));
  });
});

describe('ctr images: when, as docker says it', () => {
  it('seconds, minutes, hours, days, then months and years', async () => {
    const { ago } = await import('../../lib/ctr/commands/ps.ts');
    const now = Date.parse('2026-11-25T00:00:00Z');
    const at = (seconds: number) => new Date(now - seconds * 1000).toISOString();
    expect(ago(at(5), now)).toBe('5 seconds ago');
    expect(ago(at(3 * 86400), now)).toBe('3 days ago');
    expect(ago(at(90 * 86400), now)).toBe('3 months ago');
    expect(ago(at(1106 * 86400), now)).toBe('3 years ago');
  });
});
