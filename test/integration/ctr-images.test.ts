/**
 * ctr's image commands as a user types them: load (each format), run IMAGE with its config applied, images,
 * rmi (refused while a container uses the image), diff, commit, pull from a registry on 127.0.0.1 and through a
 * mirror. Every ctr that starts a container runs inside a network namespace of this test's own; each test has an
 * image store of its own (SCRATCH_IMAGE_STORE); the registry is on 127.0.0.1, and a pull of a Docker Hub name
 * from a namespace with no way out shows nothing leaves the machine.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectArchive } from '../../lib/image/inspect.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { CONTAINERS_ROOT, DEFAULT_ROOTFS } from '../../lib/names.ts';
import { buildImages, LAYERED, NOSHELL, type BuiltImages } from '../../rootfs-scripts/images.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { tempDir } from '../helpers/image.ts';
import { registrySkipReason, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.ts';

const CTR = path.resolve(import.meta.dirname, '../../bin/ctr.mjs');
const newId = () => crypto.randomBytes(5).toString('hex');
const HOST_NETNS = `scrt${crypto.randomBytes(3).toString('hex')}`;
const hasStackTrace = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);
const oneLine = (text: string) => text.trim().split('\n').length === 1 && !hasStackTrace(text);

interface CtrOptions {
  store: string;
  id?: string;
  env?: Record<string, string>;
  /** Run in this machine's own network namespace (a pull from the registry on its 127.0.0.1), not the test's. */
  hostNet?: boolean;
}

/** ctr, with a store of the test's own, inside the test's network namespace unless told otherwise. */
function ctr(args: string[], opts: CtrOptions) {
  const inNetns = canRunIntegration && !opts.hostNet;
  const [file, ...prefix] = inNetns
    ? ['nsenter', `--net=/run/netns/${HOST_NETNS}`, '--', process.execPath]
    : [process.execPath];
  return execa(file ?? 'node', [...prefix, CTR, ...args], {
    reject: false,
    input: '',
    env: {
      FORCE_COLOR: '0',
      SCRATCH_IMAGE_STORE: opts.store,
      ...(opts.id ? { SCRATCH_RUN_ID: opts.id } : {}),
      ...opts.env,
    },
  });
}

let dir: string;
let images: BuiltImages;
let stores = 0;
/** A fresh image store for one test. */
const freshStore = () => path.join(dir, 'stores', String(stores++));
const layersDirsOf = (store: string) =>
  fs.existsSync(path.join(store, 'layers', 'sha256'))
    ? fs.readdirSync(path.join(store, 'layers', 'sha256')).filter((n) => !n.endsWith('.json'))
    : [];

beforeAll(async () => {
  dir = tempDir('ctr-images');
  images = await buildImages({ outDir: path.join(dir, 'images'), log: () => {} });
  if (!canRunIntegration) return;
  await execa('ip', ['netns', 'add', HOST_NETNS]);
  await execa('ip', ['-n', HOST_NETNS, 'link', 'set', 'lo', 'up']);
}, 60_000);

afterAll(async () => {
  if (canRunIntegration) await execa('ip', ['netns', 'delete', HOST_NETNS], { reject: false });
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('ctr image commands, for any user', () => {
  it('--help lists load, pull, images, rmi, diff and commit, and each has its own help', async () => {
    const r = await ctr(['--help'], { store: '/nonexistent' });
    for (const c of ['load', 'pull', 'images', 'rmi', 'diff', 'commit'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const help = async (c: string) => (await ctr([c, '--help'], { store: '/nonexistent' })).stdout;
    expect(await help('load')).toContain('usage: ctr load -i FILE');
    expect(await help('pull')).toMatch(/--mirror URL .*SCRATCH_REGISTRY_MIRROR/);
    expect(await help('commit')).toContain('usage: ctr commit [OPTIONS] CONTAINER NAME[:TAG]');
    expect(await help('run')).toContain('usage: ctr run [OPTIONS] IMAGE|ROOTFS [COMMAND] [ARG...]');
    expect(await help('run')).toContain('--entrypoint CMD');
  });
});

describe.skipIf(!canRunIntegration)('ctr image commands, as root', () => {
  it('a missing archive, an unknown image, a layer that does not match its digest: one line each, exit 125', async () => {
    const store = freshStore();
    for (const args of [
      ['load', '-i', path.join(dir, 'no-such.tar')],
      ['run', '--rm', '--network', 'none', 'scratch/nothing'],
      ['rmi', 'scratch/nothing'],
      ['diff', 'scrnothing'],
      ['pull'],
    ]) {
      const r = await ctr(args, { store });
      expect(r.exitCode, args.join(' ')).toBe(125);
      expect(oneLine(r.stderr), r.stderr).toBe(true);
    }
    // One byte of layer 3's new.txt changed: its tar no longer hashes to the diff_id the config promises.
    const bad = path.join(dir, 'bad.docker.tar');
    const data = fs.readFileSync(images.files.layers.docker);
    const at = data.indexOf(Buffer.from(LAYERED.visible.text));
    expect(at).toBeGreaterThan(0);
    data[at] = 'F'.charCodeAt(0);
    fs.writeFileSync(bad, data);
    const r = await ctr(['load', '-i', bad], { store });
    expect(r.exitCode).toBe(125);
    expect(oneLine(r.stderr), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/does not match its digest/);
    // Nothing of the damaged layer is in the store, half-unpacked or otherwise (the good ones may or may not be:
    // a failed load stops the layers still arriving).
    const damaged = (await inspectArchive(images.files.layers.docker)).images[0]?.config.rootfs.diff_ids[2] ?? '';
    expect(damaged).toMatch(/^sha256:/);
    expect(layersDirsOf(store)).not.toContain(damaged.slice('sha256:'.length));
    expect(fs.readdirSync(path.join(store, 'tmp')).filter((n) => n !== 'lock')).toEqual([]);
    expect((await ctr(['images', '-q'], { store })).stdout).toBe('');
  });

  it.each(['docker', 'docker25', 'oci', 'ociDir'] as const)(
    'the %s form loads and runs: the second layer’s file is there, the file it deleted is not',
    async (format) => {
      const store = freshStore();
      const load = await ctr(['load', '-i', images.files.layers[format]], { store });
      expect(load.exitCode, load.stderr).toBe(0);
      expect(load.stdout).toContain(`Loaded image: ${LAYERED.name}`);
      expect(load.stdout.match(/: Loaded \(/g)).toHaveLength(3);
      const id = newId();
      const r = await ctr(
        ['run', '--rm', '--network', 'none', LAYERED.name, 'sh', '-c', `cat ${LAYERED.added.path} ${LAYERED.deleted}`],
        { store, id },
      );
      expect(r.stdout).toBe(LAYERED.added.text.trim());
      expect(r.stderr).toMatch(/can't open '\/etc\/os-release': No such file or directory/);
      expect(r.exitCode).toBe(1);
      expect(await leftoversOf(id)).toEqual([]);
    },
  );

  it("the config applied: Cmd by default, Env, WorkingDir, User from the image's passwd; flags override each", async () => {
    const store = freshStore();
    expect((await ctr(['load', '-i', images.files.layers.oci], { store })).exitCode).toBe(0);
    const run = (args: string[]) => ctr(['run', '--rm', '--network', 'none', ...args], { store, id: newId() });
    expect((await run([LAYERED.name])).stdout).toBe(LAYERED.added.text.trim());
    const probe = ['sh', '-c', 'id -u; id -g; id -G; pwd; echo "$GREETING|$HOME"'];
    expect((await run([LAYERED.name, ...probe])).stdout.split('\n')).toEqual([
      '1000',
      '1000',
      '1000 50',
      LAYERED.workdir,
      `${LAYERED.env.split('=')[1]}|${LAYERED.workdir}`,
    ]);
    expect(
      (await run(['-u', 'root', '-w', '/tmp', '-e', 'GREETING=hi', LAYERED.name, ...probe])).stdout.split('\n'),
    ).toEqual(['0', '0', '0', '/tmp', 'hi|/root']);
    expect((await run(['--user', 'learner:root', LAYERED.name, 'id', '-G'])).stdout).toBe('0');
    expect((await run(['--entrypoint', '/bin/echo', LAYERED.name, 'replaced'])).stdout).toBe('replaced');
    const nobody = await run(['--user', 'nobody-here', LAYERED.name]);
    expect(nobody.exitCode).toBe(125);
    expect(nobody.stderr).toMatch(/unable to find user nobody-here in the image/);
  });

  it('the image with no shell runs; arguments replace its Cmd; a shell it does not have is exit 127', async () => {
    const store = freshStore();
    expect((await ctr(['load', '-i', images.files.noshell.docker25], { store })).exitCode).toBe(0);
    const run = (args: string[]) => ctr(['run', '--rm', '--network', 'none', ...args], { store, id: newId() });
    expect((await run([NOSHELL.name])).stdout).toBe(NOSHELL.cmd[0]);
    expect((await run([NOSHELL.name, 'two', 'words'])).stdout).toBe('two words');
    const sh = await run(['--entrypoint', '/bin/sh', NOSHELL.name]);
    expect(sh.exitCode).toBe(127);
    expect(oneLine(sh.stderr), sh.stderr).toBe(true);
    expect(sh.stderr).toContain('exec: "/bin/sh": no such file or directory');
  });

  it('images and rmi: an image a container uses is refused, -f untags it and its layers stay while the container does', async () => {
    const store = freshStore();
    await ctr(['load', '-i', images.files.layers.docker], { store });
    const table = await ctr(['images'], { store });
    expect(table.stdout).toMatch(/^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/m);
    expect(table.stdout).toMatch(/^scratch\/layers +latest +[0-9a-f]{12} +.* ago +2\.\d MiB$/m);
    const id = newId();
    const started = await ctr(['run', '-d', '--network', 'none', LAYERED.name, 'sleep', '300'], { store, id });
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      const refused = await ctr(['rmi', LAYERED.name], { store });
      expect(refused.exitCode).toBe(125);
      expect(oneLine(refused.stderr)).toBe(true);
      expect(refused.stderr).toContain(`is used by container ${id} (running)`);
      const forced = await ctr(['rmi', '-f', LAYERED.name], { store });
      expect(forced.stdout).toBe(`Untagged: ${LAYERED.name}`);
      expect(layersDirsOf(store)).toHaveLength(3);
      // The container still runs from those layers.
      expect((await ctr(['exec', id, 'cat', LAYERED.added.path], { store })).stdout).toBe(LAYERED.added.text.trim());
    } finally {
      await ctr(['rm', '-f', id], { store });
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('diff lists the container’s changes as docker does; commit makes them a layer a new container starts from', async () => {
    const store = freshStore();
    await ctr(['load', '-i', images.files.layers.oci], { store });
    const id = newId();
    const changes = 'echo hi > /added; rm /etc/greeting; rm -r /srv/app; mkdir /srv/app; touch /srv/app/x; sleep 300';
    const started = await ctr(['run', '-d', '--network', 'none', '-u', '0', LAYERED.name, 'sh', '-c', changes], {
      store,
      id,
    });
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      const upper = path.join(CONTAINERS_ROOT, id, 'upper');
      for (let i = 0; i < 100 && !fs.existsSync(path.join(upper, 'srv/app/x')); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const diff = await ctr(['diff', id], { store });
      expect(diff.stdout.split('\n')).toEqual([
        'A /added',
        'C /etc',
        'D /etc/greeting',
        'C /srv',
        'C /srv/app',
        'D /srv/app/new.txt',
        'A /srv/app/x',
      ]);
      const commit = await ctr(['commit', '-m', 'test', '-c', 'CMD ["cat","/added"]', id, 'mine:v2'], { store });
      expect(commit.exitCode, commit.stderr).toBe(0);
      expect(commit.stdout).toMatch(/^sha256:[0-9a-f]{64}$/);
      const run = (args: string[]) => ctr(['run', '--rm', '--network', 'none', ...args], { store, id: newId() });
      expect((await run(['mine:v2'])).stdout).toBe('hi');
      const after = await run(['mine:v2', 'sh', '-c', 'ls /srv/app; ls /etc/greeting']);
      expect(after.stdout).toBe('x');
      expect(after.stderr).toMatch(/greeting: No such file/);
      expect((await ctr(['images'], { store })).stdout).toMatch(/^mine +v2 /m);
    } finally {
      await ctr(['rm', '-f', id], { store });
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('commit of a container started from a rootfs directory: the directory and the changes, two layers', async () => {
    const store = freshStore();
    const id = newId();
    const started = await ctr(
      ['run', '-d', '--network', 'none', DEFAULT_ROOTFS, 'sh', '-c', 'echo y > /y; sleep 300'],
      {
        store,
        id,
      },
    );
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      for (let i = 0; i < 100 && !fs.existsSync(path.join(CONTAINERS_ROOT, id, 'upper/y')); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await ctr(['commit', id, 'fromdir'], { store })).exitCode).toBe(0);
      expect(layersDirsOf(store)).toHaveLength(2);
      const r = await ctr(['run', '--rm', '--network', 'none', 'fromdir', 'cat', '/y'], { store, id: newId() });
      expect(r.stdout).toBe('y');
    } finally {
      await ctr(['rm', '-f', id], { store });
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('pull of a Docker Hub name, from a namespace with no way out: one line, and nothing left the machine', async () => {
    const r = await ctr(['pull', 'busybox'], { store: freshStore() });
    expect(r.exitCode).toBe(125);
    expect(oneLine(r.stderr), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/cannot reach the registry registry-1\.docker\.io/);
  });
});

const registry = canRunIntegration ? registrySkipReason() : 'not root on Linux';
describe.skipIf(registry !== undefined)('ctr pull from a registry on 127.0.0.1', () => {
  let upstream: TestRegistry;

  beforeAll(async () => {
    upstream = await startRegistry(path.join(dir, 'registry'));
    skopeoPush(images.files.layers.ociDir, 'latest', `${upstream.host}/scratch/layers:latest`);
  }, 60_000);

  afterAll(async () => {
    await upstream?.stop();
    if (upstream) expect(() => process.kill(upstream.pid, 0)).toThrow();
  });

  it('each layer downloaded once and checked; a second pull downloads nothing; the image then runs', async () => {
    const store = freshStore();
    const ref = `${upstream.host}/scratch/layers`;
    const first = await ctr(['pull', ref], { store, hostNet: true });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain('Using default tag: latest');
    expect(first.stdout.match(/^[0-9a-f]{12}: Pull complete \(/gm)).toHaveLength(3);
    expect(first.stdout).toContain(`Status: Downloaded newer image for ${ref}:latest`);
    const again = await ctr(['pull', `${ref}:latest`], { store, hostNet: true });
    expect(again.stdout.match(/^[0-9a-f]{12}: Already exists$/gm)).toHaveLength(3);
    expect(again.stdout).toContain(`Status: Image is up to date for ${ref}:latest`);
    const run = await ctr(['run', '--rm', '--network', 'none', ref], { store, id: newId() });
    expect(run.stdout).toBe(LAYERED.added.text.trim());
  });

  it('a Docker Hub name goes to the mirror, from --mirror or SCRATCH_REGISTRY_MIRROR, never to Docker Hub', async () => {
    const viaFlag = await ctr(['pull', '--mirror', upstream.url, 'scratch/layers'], {
      store: freshStore(),
      hostNet: true,
    });
    expect(viaFlag.exitCode, viaFlag.stderr).toBe(0);
    expect(viaFlag.stdout).toContain(`Pulling from scratch/layers (from the mirror ${upstream.url})`);
    expect(viaFlag.stdout.trim().split('\n').at(-1)).toBe('docker.io/scratch/layers:latest');
    const viaEnv = await ctr(['pull', 'scratch/layers'], {
      store: freshStore(),
      hostNet: true,
      env: { SCRATCH_REGISTRY_MIRROR: upstream.host },
    });
    expect(viaEnv.exitCode, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout.match(/Pull complete/g)).toHaveLength(3);
  });
});
