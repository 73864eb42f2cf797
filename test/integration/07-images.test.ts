/**
 * Lesson 07, run for real: the docker save archive's layers land in the store under the digests their tars
 * hash to, whiteout and opaque markers become overlayfs's, the Docker 25+ and OCI forms add nothing, a pull from
 * a registry on 127.0.0.1 works, the image with no shell runs under the TypeScript init, and the image's config
 * (Cmd, Env, WorkingDir, User from its own /etc/passwd) is what the host sees on the container's process.
 * Nothing of the run is left: containers, the registry, the pulled name.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/07-images.ts';
import { layerEntryAction, type LayerEntryAction } from '../../lib/image/whiteout.ts';
import { ImageStore } from '../../lib/image/store.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { CONTAINERS_ROOT } from '../../lib/names.ts';
import { LAYERED, NOSHELL } from '../../rootfs-scripts/images.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest } from '../helpers/lesson.ts';
import { registrySkipReason } from '../helpers/registry.ts';

const ownDirs = (id: string) => fs.readdirSync(CONTAINERS_ROOT).filter((d) => d.startsWith(id));
const registry = canRunIntegration ? registrySkipReason() : 'not root on Linux';

describe.skipIf(!canRunIntegration)('lesson 07: images', () => {
  it('loads every format into one set of layers, pulls from 127.0.0.1, runs the no-shell image, applies the config', async () => {
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);

    const image = r.state.docker?.images[0];
    expect(image?.layers.map((l) => l.diffId)).toEqual(image?.config.rootfs.diff_ids);
    const store = new ImageStore();
    expect(r.state.loaded?.layerDirs).toEqual(image?.layers.map((l) => store.layerDir(l.diffId)));

    // Layer 2's whiteout and layer 3's opaque marker, as the unpacker left them in the store.
    const markers = (r.state.actions ?? []).filter((a) => a.action.action !== 'create');
    expect(markers.map((a) => [a.layer, a.entry, a.onDisk])).toEqual([
      [2, 'etc/.wh.os-release', 'whiteout'],
      [3, 'srv/app/.wh..wh..opq', 'opaque'],
    ]);
    expect(r.state.formats?.blobsNamedByHash).toBe(true);
    expect(r.state.formats?.gzip?.blob).not.toBe(r.state.formats?.gzip?.diffId);

    // The image with no shell: one file, run by the TypeScript init.
    expect(r.state.noshell?.files).toEqual(['echo']);
    expect(r.state.noshell?.result?.stdout.trim()).toBe(NOSHELL.cmd[0]);
    expect(r.state.noshell?.refusal).toMatch(/the sh init cannot do "setUser"/);

    // The config: its Cmd prints the file only layer 2 has; the host sees learner's ids, Env, HOME, the cwd.
    expect(r.state.config?.defaultCmd?.stdout.trim()).toBe(LAYERED.added.text.trim());
    expect(r.state.config?.status).toEqual({ uid: '1000', gid: '1000', groups: '50' });
    expect(r.state.config?.environ).toEqual(expect.arrayContaining([LAYERED.env, 'HOME=/home/learner']));
    expect(r.state.config?.cwd).toBe(LAYERED.workdir);
    expect(r.state.config?.layered).toMatch(/^new\.txt\n.*os-release.*No such file/s);

    if (!registry) {
      expect(r.state.pull?.ref).toMatch(/^127\.0\.0\.1:\d+\/scratch\/noshell:latest$/);
      expect(r.state.pull?.catalog).toBe('{"repositories":["scratch/noshell"]}');
      // The pulled name went with the lesson; the workshop's loaded image stays, as a built rootfs does.
      expect(store.get(r.state.pull?.ref ?? '')).toBeUndefined();
      expect(store.get(LAYERED.name)).toBeDefined();
    }
    expect(ownDirs(r.id)).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it("a learner's layerEntryAction that ignores opaque markers fails the whiteout check", async () => {
    const noOpaque = (name: string): LayerEntryAction => {
      const a = layerEntryAction(name);
      return a.action === 'opaque' ? { action: 'create', dir: a.dir, name: '.wh..wh..opq' } : a;
    };
    Object.defineProperty(noOpaque, 'name', { value: 'layerEntryAction' });
    const r = await runLessonForTest(lesson, { impl: { layerEntryAction: noOpaque } });
    expect(r.checks.filter((c) => !c.ok).map((c) => c.claim)).toEqual([
      'each .wh. marker became what overlayfs reads: a 0/0 device, or an opaque directory',
    ]);
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it('--explain shows the TypeScript init as system calls, with digests cut short, and runs nothing', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toContain('# the TypeScript init makes these system calls, then execve:');
    expect(r.output).toContain('execve("/echo" found in PATH');
    expect(r.output).toContain('setresuid(1000, 1000, 1000)');
    expect(r.output).not.toMatch(/[0-9a-f]{64}/);
    expect(r.state.noshell).toBeUndefined();
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});
