/**
 * Lesson 07 — images.
 *
 * Lesson 06 stacked layers by hand. An image is that stack, shipped: a few layer tars and a JSON config,
 * each named by the sha256 of its bytes. We open what `docker save` writes, load it with `ctr load` into a store
 * where each layer is unpacked once under its digest (whiteouts and opaque directories turned into what
 * overlayfs reads), load the same image from two more formats and watch nothing new being unpacked, and pull an
 * image from a registry started on this machine. Then we run images — and meet the init that runs from here on:
 * an image may have no shell at all, so the container's first process can no longer be a shell script.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBundle, PROJECT_ROOT } from '../lib/bundle.ts';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { overlayPaths, overlayRootOps } from '../lib/container/root.ts';
import { containerCommands, interactiveShell } from '../lib/container/shown.ts';
import { runContainer, startContainer, type Container, type ContainerResult } from '../lib/container/start.ts';
import { ctrArgv } from '../lib/ctr/command.ts';
import type { HostOp } from '../lib/hostops.ts';
import { containerProcess, type ImageConfig } from '../lib/image/config.ts';
import { shortDigest } from '../lib/image/digest.ts';
import { inspectArchive, type InspectedArchive } from '../lib/image/inspect.ts';
import { localRegistryConfig } from '../lib/image/mirror.ts';
import { ImageStore } from '../lib/image/store.ts';
import { resolveImageUser, type ResolvedUser } from '../lib/image/user.ts';
import { isOpaqueDir, isWhiteoutStat, layerEntryAction, type LayerEntryAction } from '../lib/image/whiteout.ts';
import { initPlan } from '../lib/init/plan.ts';
import { renderSh, ShUnsupported } from '../lib/init/render-sh.ts';
import { build, isolatedSpec, withImageProcess, withOverlay } from '../lib/kit.ts';
import { defineLesson, step, type LessonContext, type Shown } from '../lib/lesson.ts';
import { DEFAULT_ROOTFS, LIB_ROOT, stateDir } from '../lib/names.ts';
import { unusedTcpPort } from '../lib/network/ports.ts';
import { findOnPath, toolPath, type BackgroundProcess } from '../lib/runner.ts';
import type { ContainerSpec } from '../lib/spec.ts';
import { createStateDir } from '../lib/state.ts';
import { buildImages, IMAGES_SRC, LAYERED, NOSHELL, OUTPUTS, workshopImages } from '../rootfs-scripts/images.ts';

type Format = keyof typeof OUTPUTS;
const archive = (image: 'layers' | 'noshell', format: Format) =>
  path.join(IMAGES_SRC, `${image}${OUTPUTS[format].suffix}`);

interface EntryAction {
  layer: number;
  entry: string;
  action: LayerEntryAction;
  /** What the unpacked layer in the store has there: a whiteout, an opaque directory, the entry, or nothing. */
  onDisk: 'whiteout' | 'opaque' | 'present' | 'missing';
}

interface State {
  builtImages?: boolean;
  /** The port of step 5's registry, picked once: once it listens there, that port is no longer free. */
  registryPort?: number;
  docker?: InspectedArchive;
  loaded?: { output: string; layerDirs: string[]; imageId?: string };
  actions?: EntryAction[];
  formats?: { ids: string[]; output: string; blobsNamedByHash: boolean; gzip?: { blob: string; diffId: string } };
  pull?: { ref: string; output: string; catalog?: string; skipped?: string; layersFetched: boolean };
  noshell?: { files: string[]; afterPivot: string[]; refusal?: string; result?: ContainerResult };
  config?: {
    defaultCmd?: ContainerResult;
    status?: { uid: string; gid: string; groups: string };
    environ?: string[];
    cwd?: string;
    layered?: string;
  };
  sleeper?: Container;
}

/** Step 7: what the container shows of its layers. */
const LOOK = 'cat /etc/os-release; ls /srv/app';

/** The containers of the lesson, each with its own overlay root. */
const CONTAINERS = { noshell: 'n', layers: 'l', shell: 's' } as const;
type Which = keyof typeof CONTAINERS;
const idOf = (ctx: { id: string }, which: Which) => `${ctx.id}${CONTAINERS[which]}`;

/** The registry of step 5 listens on a free port of 127.0.0.1, picked from the run id (two runs, two ports). */
function registryPort(ctx: { id: string; state: State }): number {
  ctx.state.registryPort ??= unusedTcpPort(5000 + (parseInt(ctx.id.slice(-4), 16) % 900));
  return ctx.state.registryPort;
}

const REGISTRY_TOOLS = ['docker-registry', 'skopeo'];
const missingRegistryTools = () => REGISTRY_TOOLS.filter((t) => !findOnPath(t, toolPath(process.env.PATH)));

/** The noshell image's name in the store: pulled from the lesson's registry, or loaded when that cannot run. */
function noshellRef(ctx: { id: string; state: State }): string {
  return missingRegistryTools().length > 0 ? NOSHELL.name : `127.0.0.1:${registryPort(ctx)}/${NOSHELL.name}`;
}

const store = () => new ImageStore();

interface ImageToRun {
  config: ImageConfig;
  lowerDirs: string[];
  user: ResolvedUser;
}

/**
 * The image as a container needs it: its config, its layers (top first) and its user looked up in its own
 * /etc/passwd. Before the image is in the store (`--explain`), the config the workshop builds it with, and a
 * placeholder for its layers.
 */
function imageToRun(ref: string, standIn: 'layers' | 'noshell'): ImageToRun {
  const s = store();
  const record = s.get(ref);
  if (record) {
    const config = s.config(record);
    const lowerDirs = s.lowerDirs(record);
    return { config, lowerDirs, user: resolveImageUser(containerProcess(config).user, lowerDirs) };
  }
  const config = workshopImages(DEFAULT_ROOTFS)[standIn].config;
  const u = LAYERED.user;
  const user =
    standIn === 'layers'
      ? { uid: u.uid, gid: u.gid, additionalGids: [...u.groups], home: LAYERED.workdir, name: u.name }
      : { uid: 0, gid: 0, additionalGids: [], home: '/', name: undefined };
  return { config, lowerDirs: [path.join(LIB_ROOT, 'layers', 'sha256', '…')], user };
}

/** A container from an image: lesson 04's isolation, an overlay of the image's layers, the config's process. */
function imageSpec(ctx: { id: string }, which: Which, image: ImageToRun, args?: string[]): ContainerSpec {
  const id = idOf(ctx, which);
  const o = overlayPaths(id, image.lowerDirs);
  const p = containerProcess(image.config, { args });
  return build(
    isolatedSpec({ id, rootfs: image.lowerDirs[0] ?? '', args: p.args }),
    withOverlay(o.root, o.rootfs),
    withImageProcess(p, image.user),
  );
}

const layersSpec = (ctx: { id: string }, which: Which, args?: string[]) =>
  imageSpec(ctx, which, imageToRun(LAYERED.name, 'layers'), args);
const noshellSpec = (ctx: { id: string; state: State }) =>
  imageSpec(ctx, 'noshell', imageToRun(noshellRef(ctx), 'noshell'));

const dirOps = (spec: ContainerSpec, which: Which, ctx: { id: string }): Record<string, Shown> => {
  const lower = spec.rootfs.type === 'overlay' ? spec.rootfs.lower : [];
  return Object.fromEntries(overlayRootOps(overlayPaths(idOf(ctx, which), lower)).map((op, i) => [`dir${i}`, { op }]));
};

function makeDirs(ctx: LessonContext<State>, which: Which): void {
  const o = overlayPaths(idOf(ctx, which), []);
  ctx.cleanup.push(`remove ${o.dir}`, () => ctx.runner.apply({ kind: 'remove', path: o.dir }));
  for (const op of overlayRootOps(o)) ctx.runner.apply(op);
}

/** ctr, as the lesson runs it: `node bin/ctr.mjs …` in this checkout (what `npm run ctr -- …` runs). */
async function ctr(ctx: LessonContext<State>, argv: readonly string[]): Promise<string> {
  const r = await ctx.runner.run(argv, { cwd: PROJECT_ROOT, reject: false });
  const text = [r.stdout, r.stderr].filter(Boolean).join('\n');
  if (r.exitCode !== 0) throw new Error(`${argv.slice(2).join(' ')} failed (exit ${r.exitCode}): ${text}`);
  return text;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/** 64 hex digits shown as docker shows ids: the first 12 and `…`. */
const shortenDigests = (text: string) => text.replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1…');

/** What the unpacked layer has where an entry's action points. */
function onDisk(layerDir: string, a: LayerEntryAction): EntryAction['onDisk'] {
  const at = (rel: string) => fs.lstatSync(path.join(layerDir, rel), { throwIfNoEntry: false });
  if (a.action === 'skip') return 'missing';
  if (a.action === 'opaque') return isOpaqueDir(path.join(layerDir, a.dir)) ? 'opaque' : 'missing';
  const st = at(path.join(a.dir, a.name));
  if (!st) return 'missing';
  return isWhiteoutStat(st) ? 'whiteout' : 'present';
}

function describeAction(a: LayerEntryAction): string {
  const p = (dir: string, name?: string) => `/${[dir, name].filter(Boolean).join('/')}`;
  switch (a.action) {
    case 'create':
      return `create ${p(a.dir, a.name)}`;
    case 'whiteout':
      return `whiteout: ${p(a.dir, a.name)} becomes a 0/0 char device`;
    case 'opaque':
      return `opaque: ${p(a.dir)} gets trusted.overlay.opaque=y`;
    case 'skip':
      return 'skip (aufs bookkeeping)';
  }
}

/** A tar entry name as the unpacker cleans it: no `./`, no leading or trailing `/`. */
const cleanName = (name: string) => name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');

export default defineLesson<State>({
  number: '07',
  title: 'Images: layers plus a config',
  summary:
    'An image is a few layer tars and a JSON config, each named by its sha256. We open a docker save ' +
    'archive, load it into a content-addressed store (whiteouts become what overlayfs reads), load it again ' +
    'from two other formats, pull one from a registry on this machine, and run images — one with no shell, ' +
    'which needs the init that runs from here on: the TypeScript one.',
  docker: 'docker save busybox -o busybox.tar; docker load -i busybox.tar; docker pull busybox; docker run busybox',
  needsRoot: true,
  needsRootfs: true,
  initialState: () => ({}),

  steps: [
    step({
      title: 'What docker save writes: layer tars, a config, a manifest',
      explain:
        'The workshop builds two small images from the busybox rootfs, offline, in every format docker ' +
        'writes (npm run setup does; so does this lesson, the first time). `scratch/layers` has three ' +
        'layers: the rootfs; one that adds /etc/greeting and a user and deletes /etc/os-release; one that ' +
        'replaces /srv/app. Its `docker save` archive is a plain tar: manifest.json says which file is the ' +
        'config and which are the layers, bottom first; each layer is itself a tar of what it adds, changes ' +
        'and deletes; the config holds the process to start — Env, Cmd, WorkingDir, User — and the ' +
        'diff_ids: the sha256 of each layer tar.',
      docker: 'docker save scratch/layers -o layers.docker.tar; tar -tvf layers.docker.tar',
      commands: () => ({
        list: ['tar', '-tvf', archive('layers', 'docker')],
        manifest: ['tar', '-xOf', archive('layers', 'docker'), 'manifest.json'],
      }),
      async run(ctx, cmd) {
        createStateDir(ctx.cleanup, ctx.id);
        const built = await buildImages({ log: () => {} });
        ctx.state.builtImages = built.built;
        if (built.built)
          ctx.out.note(`First use: built the workshop's image archives in ${built.dir} (npm run images).`);
        const list = await ctx.runner.run(cmd.list as string[]);
        ctx.out.evidence(
          'tar -tvf: a config, a directory per layer, the manifest (digests cut to 12 digits)',
          shortenDigests(list.stdout),
        );
        const manifest = await ctx.runner.run(cmd.manifest as string[]);
        ctx.out.evidence(
          'manifest.json (pretty-printed, digests cut to 12 digits):',
          shortenDigests(JSON.stringify(JSON.parse(manifest.stdout), null, 2)),
        );
        ctx.state.docker = await inspectArchive(archive('layers', 'docker'));
        const image = ctx.state.docker.images[0];
        const c = image?.config.config ?? {};
        ctx.out.evidence(
          'the config (its JSON, in part):',
          [
            `Env:        ${JSON.stringify(c.Env)}`,
            `Cmd:        ${JSON.stringify(c.Cmd)}`,
            `WorkingDir: ${JSON.stringify(c.WorkingDir)}`,
            `User:       ${JSON.stringify(c.User)}`,
            'rootfs.diff_ids:',
            ...(image?.config.rootfs.diff_ids ?? []).map((d) => `  ${d}`),
          ].join('\n'),
        );
      },
    }),

    step({
      title: 'ctr load: each layer unpacked once, under its digest',
      explain:
        '`ctr load` (`npm run ctr -- load …` runs the same) reads the manifest, then streams each layer tar ' +
        'into the store: /var/lib/scratch/layers/sha256/<diff_id>/, one directory per layer, named by the ' +
        'sha256 of the tar — computed while unpacking, and compared with the config before the directory ' +
        'gets its name (a layer whose bytes do not match is refused and leaves nothing). A layer already ' +
        'there is not read at all: "Already exists". These directories are the lower dirs of lesson 06.',
      docker: 'docker load -i layers.docker.tar; docker image ls',
      commands: () => ({
        load: ctrArgv(['load', '-i', archive('layers', 'docker')]),
        images: ctrArgv(['images']),
      }),
      async run(ctx, cmd) {
        const output = await ctr(ctx, cmd.load as string[]);
        ctx.out.evidence('ctr load:', output);
        const images = await ctr(ctx, cmd.images as string[]);
        ctx.out.evidence('ctr images:', images);
        const s = store();
        const record = s.get(LAYERED.name);
        const layerDirs = record ? record.layers.map((d) => s.layerDir(d)) : [];
        ctx.state.loaded = { output, layerDirs, imageId: record?.id };
        const image = ctx.state.docker?.images[0];
        ctx.out.evidence(
          'the diff_ids, as the config promised and as the tars hashed:',
          (image?.layers ?? [])
            .map(
              (l, i) =>
                `layer ${i + 1}: ${shortDigest(l.promisedDiffId)} = ${shortDigest(l.diffId)}` +
                `${l.promisedDiffId === l.diffId ? ' ✔' : ' ✘'}`,
            )
            .join('\n'),
        );
        ctx.out.evidence(
          'in the store, one directory per layer (bottom first):',
          layerDirs.map((d) => `${path.dirname(d)}/${shortDigest(path.basename(d))}…`).join('\n'),
        );
      },
    }),

    step({
      title: 'Whiteouts and opaque directories, as overlayfs reads them',
      explain:
        'A layer tar cannot hold "deleted", so it carries markers: an empty file `.wh.NAME` means NAME was ' +
        'deleted; `.wh..wh..opq` in a directory means nothing of the lower layers’ version of it shows. ' +
        'overlayfs speaks another dialect (lesson 06): a 0/0 character device, and the xattr ' +
        'trusted.overlay.opaque=y. So unpacking translates each entry name into an action on the layer ' +
        'directory: layerEntryAction, the function you can write yourself (`--mine`). Here it is applied to ' +
        'every entry of layers 2 and 3, next to what the unpacked layers in the store really hold.',
      docker: 'docker save scratch/layers | tar -xO <layer>/layer.tar | tar -tv   (the .wh. files)',
      commands: () => ({}),
      async run(ctx) {
        const image = ctx.state.docker?.images[0];
        const dirs = ctx.state.loaded?.layerDirs ?? [];
        const entryAction = ctx.use(layerEntryAction);
        const actions: EntryAction[] = [];
        for (const layer of [1, 2]) {
          for (const entry of image?.layers[layer]?.entries ?? []) {
            const name = cleanName(entry);
            if (name === '') continue;
            const action = entryAction(name);
            actions.push({ layer: layer + 1, entry: name, action, onDisk: onDisk(dirs[layer] ?? '', action) });
          }
        }
        ctx.state.actions = actions;
        ctx.out.evidence(
          'each entry of layers 2 and 3 → its action, [what the unpacked layer has there]:',
          actions.map((a) => `${a.layer}: ${a.entry} → ${describeAction(a.action)}   [${a.onDisk}]`).join('\n'),
        );
      },
    }),

    step({
      title: 'The same image as Docker 25+ and OCI save it: nothing to unpack',
      explain:
        'Docker 25 and later save an OCI image layout (with docker’s manifest.json beside it); registries and ' +
        'tools like skopeo use the OCI layout too: oci-layout, index.json, and every blob in blobs/sha256/ ' +
        'under the sha256 of its bytes — so `sha256sum` shows each file name is its own hash. Its layers are ' +
        'gzip-compressed, so their blob digests differ from the diff_ids; the store keys layers by diff_id, ' +
        'so loading the same image from these two formats finds every layer already there, and the image id ' +
        '(the config’s digest) is the same.',
      docker: 'docker load -i layers.docker25.tar; skopeo copy oci-archive:layers.oci.tar docker-daemon:…',
      commands: () => ({
        docker25: ctrArgv(['load', '-i', archive('layers', 'docker25')]),
        oci: ctrArgv(['load', '-i', archive('layers', 'oci')]),
        hashes: ['sh', '-c', 'cd "$1" && sha256sum *', 'sh', path.join(archive('layers', 'ociDir'), 'blobs/sha256')],
        images: ctrArgv(['images', '-q']),
      }),
      async run(ctx, cmd) {
        const output = [await ctr(ctx, cmd.docker25 as string[]), await ctr(ctx, cmd.oci as string[])].join('\n');
        ctx.out.evidence('ctr load, twice:', output);
        const hashes = await ctx.runner.run(cmd.hashes as string[]);
        const pairs = lines(hashes.stdout).map((l) => l.split(/\s+/));
        ctx.out.evidence(
          'sha256sum blobs/sha256/* (hash, then file name; shortened):',
          pairs.map(([h = '', f = '']) => `${shortDigest(h)}…  ${shortDigest(f)}…`).join('\n'),
        );
        const ids = lines(await ctr(ctx, cmd.images as string[]));
        const oci = await inspectArchive(archive('layers', 'oci'));
        const gz = oci.images[0]?.layers[0];
        ctx.state.formats = {
          ids,
          output,
          blobsNamedByHash: pairs.length > 0 && pairs.every(([h, f]) => h === f),
          gzip: gz && { blob: gz.blobDigest, diffId: gz.diffId },
        };
        if (gz) {
          ctx.out.evidence(
            'layer 1 in the OCI layout: the blob (gzip) and the tar inside it',
            `blob digest ${shortDigest(gz.blobDigest)} (${gz.blobBytes} bytes, ${gz.compression})\n` +
              `diff_id     ${shortDigest(gz.diffId)} (${gz.tarBytes} bytes, the tar)`,
          );
        }
      },
    }),

    step({
      title: 'ctr pull: from a registry on this machine',
      explain:
        'A registry is an HTTP server holding the same blobs and manifests: GET /v2/<name>/manifests/<tag>, ' +
        'then each blob by digest. The lesson starts Debian’s docker-registry on 127.0.0.1 (no network ' +
        'needed), pushes scratch/noshell into it with skopeo, and pulls it with ctr: each blob is checked ' +
        'against its digest as it streams in, each layer unpacked as with load. In a classroom, Docker Hub ' +
        'allows one address a few pulls an hour: the instructor runs `npm run mirror` and everyone pulls ' +
        'through it with SCRATCH_REGISTRY_MIRROR=http://<instructor>:5000 (or ctr pull --mirror …).',
      docker: 'docker run -d -p 5000:5000 registry:2; docker push …; docker pull localhost:5000/scratch/noshell',
      commands: (ctx): Record<string, Shown> => {
        const missing = missingRegistryTools();
        if (missing.length > 0) return { load: ctrArgv(['load', '-i', archive('noshell', 'oci')]) };
        const port = registryPort(ctx);
        const config = path.join(stateDir(ctx.id), 'registry.yml');
        const op: HostOp = {
          kind: 'write',
          path: config,
          value: localRegistryConfig({
            listen: `127.0.0.1:${port}`,
            storage: path.join(stateDir(ctx.id), 'registry'),
          }),
        };
        return {
          config: { op },
          serve: { bg: ['docker-registry', 'serve', config] },
          push: [
            'skopeo',
            '--insecure-policy',
            'copy',
            '--dest-tls-verify=false',
            `oci:${archive('noshell', 'ociDir')}:latest`,
            `docker://${noshellRef(ctx)}`,
          ],
          pull: ctrArgv(['pull', noshellRef(ctx)]),
        };
      },
      async run(ctx, cmd) {
        const ref = noshellRef(ctx);
        if ('load' in cmd) {
          const output = await ctr(ctx, cmd.load as string[]);
          const skipped = `${missingRegistryTools().join(' and ')} not installed (apt-get install docker-registry skopeo)`;
          ctx.state.pull = { ref, output, skipped, layersFetched: false };
          ctx.out.evidence('no registry here, so the image was loaded instead:', output);
          ctx.out.note(`The pull needs ${skipped}; the workshop VM has both.`);
          return;
        }
        ctx.runner.apply((cmd.config as { op: HostOp }).op);
        const serve = (cmd.serve as { bg: string[] }).bg;
        let stopRegistry = () => {};
        ctx.cleanup.push('stop the local registry', () => stopRegistry());
        const proc = ctx.runner.start(serve);
        stopRegistry = () => {
          proc.kill('SIGTERM');
          return proc.wait();
        };
        // Cleanup removes the pulled name (not the layers another image may share): registered before the pull.
        ctx.cleanup.push(`ctr rmi ${ref}`, async () => {
          await ctx.runner.run(ctrArgv(['rmi', ref]), { cwd: PROJECT_ROOT, reject: false });
        });
        const base = `http://${ref.split('/')[0]}`;
        await waitForRegistry(base, proc);
        await ctx.runner.run(cmd.push as string[]);
        const output = await ctr(ctx, cmd.pull as string[]);
        const catalog = await (await fetch(`${base}/v2/_catalog`)).text();
        ctx.state.pull = { ref, output, catalog: catalog.trim(), layersFetched: /Pull complete/.test(output) };
        ctx.out.evidence(`GET ${base}/v2/_catalog:`, catalog.trim());
        ctx.out.evidence('ctr pull:', output);
      },
    }),

    step({
      title: 'An image with no shell: the TypeScript init',
      explain:
        'scratch/noshell holds one file, /echo (a static binary), and an Entrypoint. init.sh could not start ' +
        'it: until pivot_root it runs on the host’s sh, but after it, `umount -l .` and `exec` would need the ' +
        'image’s own umount — which it does not have — and a shell cannot change its uid (scratch/layers ' +
        'runs as a user). So from here on the first process is the TypeScript init: the same plan, run by the ' +
        'host’s node with system calls through koffi, loaded whole before pivot_root so it needs nothing ' +
        'from the image. It gets the plan over its socket; the listing below is what it does, then ' +
        'execve("/echo").',
      docker: 'docker run --rm scratch/noshell   (docker’s runc does the same in Go, plus a bit of C)',
      commands: (ctx) => {
        const spec = noshellSpec(ctx);
        return { ...dirOps(spec, 'noshell', ctx), ...containerCommands(spec, { executor: 'ts' }) };
      },
      async run(ctx) {
        const spec = noshellSpec(ctx);
        const lower = spec.rootfs.type === 'overlay' ? spec.rootfs.lower : [];
        const files = lower.flatMap((l) => fs.readdirSync(l));
        const sh = renderSh(initPlan(spec, { mode: 'run', executor: 'sh' })).text.split('\n');
        const afterPivot = sh.slice(sh.indexOf('pivot_root . .') + 1).filter((l) => !l.startsWith('#'));
        let refusal: string | undefined;
        try {
          renderSh(initPlan(layersSpec(ctx, 'layers'), { mode: 'run', executor: 'sh' }));
        } catch (e) {
          if (e instanceof ShUnsupported) refusal = e.message;
        }
        ctx.out.evidence('the image’s files (every layer):', files.map((f) => `/${f}`).join(' '));
        ctx.out.evidence('what init.sh runs after pivot_root, from the image:', afterPivot.join('\n'));
        ctx.out.evidence('init.sh for scratch/layers (User learner):', refusal ?? '(rendered)');
        makeDirs(ctx, 'noshell');
        const r = await runContainer(ctx.runner, ctx.cleanup, spec, { executor: 'ts', init: await initBundle() });
        ctx.state.noshell = { files, afterPivot, refusal, result: r };
        ctx.out.evidence('the container, started by the TypeScript init, printed:', r.stdout || r.stderr);
      },
    }),

    step({
      title: 'The config applied: Cmd, Env, WorkingDir, User',
      explain:
        '`ctr run` with no command runs the image’s Entrypoint + Cmd: `cat /etc/greeting`, a file only ' +
        'layer 2 has. Then a container from the same image runs `sleep` (a command given replaces Cmd), and ' +
        'the host reads its process: the uid, gid and groups of `learner` — looked up in the image’s own ' +
        '/etc/passwd and /etc/group, not the host’s — the environment from Env (PATH, GREETING) plus HOME ' +
        'from passwd, and the working directory. Inside, /etc/os-release is gone (layer 2’s whiteout) and ' +
        '/srv/app holds only new.txt (layer 3’s opaque directory).',
      docker: 'docker run --rm scratch/layers; docker run -d scratch/layers sleep 3600',
      commands: (ctx) => {
        const spec = layersSpec(ctx, 'layers', ['sleep', '3600']);
        const pid = ctx.state.sleeper?.hostPid ?? '$PID';
        return {
          run: ctrArgv(['run', '--rm', '--network', 'none', LAYERED.name]),
          ...dirOps(spec, 'layers', ctx),
          ...containerCommands(spec, { executor: 'ts', background: true }),
          status: ['grep', '-E', '^(Uid|Gid|Groups):', `/proc/${pid}/status`],
          cwd: ['readlink', `/proc/${pid}/cwd`],
          look: nsenterExecArgv(spec, pid, ['sh', '-c', LOOK]),
        };
      },
      async run(ctx, cmd) {
        const defaultCmd = await ctx.runner.run(cmd.run as string[], { cwd: PROJECT_ROOT, reject: false });
        ctx.out.evidence('ctr run scratch/layers (its Cmd):', defaultCmd.stdout || defaultCmd.stderr);
        makeDirs(ctx, 'layers');
        const spec = layersSpec(ctx, 'layers', ['sleep', '3600']);
        const c = await startContainer(ctx.runner, ctx.cleanup, spec, { executor: 'ts', init: await initBundle() });
        ctx.state.sleeper = c;
        const status = await ctx.runner.run(['grep', '-E', '^(Uid|Gid|Groups):', `/proc/${c.hostPid}/status`]);
        const cwd = await ctx.runner.run(['readlink', `/proc/${c.hostPid}/cwd`]);
        const environ = fs.readFileSync(`/proc/${c.hostPid}/environ`, 'utf8').split('\0').filter(Boolean);
        const look = await c.exec(['sh', '-c', LOOK]);
        const field = (name: string) =>
          (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status.stdout)?.[1] ?? '').trim().split(/\s+/)[0] ?? '';
        ctx.state.config = {
          defaultCmd: {
            exitCode: defaultCmd.exitCode,
            signal: defaultCmd.signal,
            stdout: defaultCmd.stdout,
            stderr: defaultCmd.stderr,
          },
          status: {
            uid: field('Uid'),
            gid: field('Gid'),
            groups: (/^Groups:\s*(.*)$/m.exec(status.stdout)?.[1] ?? '').trim(),
          },
          environ,
          cwd: cwd.stdout.trim(),
          layered: [look.stdout, look.stderr].filter(Boolean).join('\n'),
        };
        ctx.out.evidence(
          `the sleeping container, read by the host: /proc/${c.hostPid}/status, cwd and environ`,
          [status.stdout.trim(), `cwd: ${cwd.stdout.trim()}`, ...environ].join('\n'),
        );
        ctx.out.evidence('inside: the layers applied', ctx.state.config.layered ?? '');
      },
    }),
  ],

  shell: (ctx) => {
    if (ctx.mode !== 'explain' && !ctx.runner.dryRun) makeDirs(ctx, 'shell');
    return interactiveShell(
      layersSpec(ctx, 'shell'),
      'A shell in a container from scratch/layers, started by the TypeScript init: you are `learner` in ' +
        '/home/learner. Try `id`, `env`, `cat /etc/greeting`, `ls /srv/app /etc/os-release`. From another ' +
        'terminal: `npm run ctr -- images`, `npm run ctr -- run --rm scratch/noshell`. Type `exit` to leave.',
      { executor: 'ts', runner: ctx.runner, cleanup: ctx.cleanup },
    );
  },

  checks: (s) => {
    const image = s.docker?.images[0];
    const markers = (s.actions ?? []).filter((a) => a.action.action !== 'create');
    const env = s.config?.environ ?? [];
    return [
      {
        claim: 'the docker save archive holds a config and three layer tars, named in manifest.json',
        ok: image?.layers.length === 3 && image.config.config?.User === LAYERED.user.name,
      },
      {
        claim: 'ctr load unpacked each layer under its diff_id, which the tar hashed to',
        ok:
          !!image &&
          image.layers.every((l) => l.diffId === l.promisedDiffId) &&
          s.loaded?.layerDirs.length === 3 &&
          s.loaded.layerDirs.every((d, i) => path.basename(d) === image.layers[i]?.diffId.slice(7) && fs.existsSync(d)),
      },
      {
        claim: 'each .wh. marker became what overlayfs reads: a 0/0 device, or an opaque directory',
        ok:
          markers.length === 2 &&
          markers.every(
            (a) =>
              (a.action.action === 'whiteout' && a.onDisk === 'whiteout') ||
              (a.action.action === 'opaque' && a.onDisk === 'opaque'),
          ) &&
          (s.actions ?? []).every((a) => a.action.action !== 'create' || a.onDisk === 'present'),
        detail: markers.map((a) => `${a.entry} → ${a.action.action}, ${a.onDisk}`).join('; '),
      },
      {
        claim: 'the Docker 25+ and OCI forms gave the same image, every layer already stored',
        ok:
          !!s.formats &&
          new Set(s.formats.ids).has(shortDigest(s.loaded?.imageId ?? '')) &&
          (s.formats.output.match(/Already exists/g) ?? []).length === 6 &&
          !/Loaded \(/.test(s.formats.output),
      },
      {
        claim: 'in the OCI layout every blob is named by its own sha256; a gzip blob and its tar differ',
        ok: !!s.formats?.blobsNamedByHash && !!s.formats.gzip && s.formats.gzip.blob !== s.formats.gzip.diffId,
      },
      ...(s.pull?.skipped
        ? []
        : [
            {
              claim: 'ctr pull fetched the image from the registry on 127.0.0.1',
              ok: !!s.pull?.catalog?.includes('scratch/noshell') && /Digest: sha256:/.test(s.pull.output),
            },
          ]),
      {
        claim: 'the image with no shell ran, started by the TypeScript init',
        ok:
          s.noshell?.result?.exitCode === 0 &&
          s.noshell.result.stdout.trim() === NOSHELL.cmd[0] &&
          s.noshell.files.join() === 'echo' &&
          s.noshell.afterPivot.some((l) => l.startsWith('umount')) &&
          !!s.noshell.refusal?.includes('setUser'),
      },
      {
        claim: 'its Cmd ran by default, and printed the file only layer 2 has',
        ok: s.config?.defaultCmd?.stdout.trim() === LAYERED.added.text.trim(),
      },
      {
        claim: 'User, Env, HOME and WorkingDir came from the image (its own /etc/passwd and /etc/group)',
        ok:
          s.config?.status?.uid === String(LAYERED.user.uid) &&
          s.config.status.gid === String(LAYERED.user.gid) &&
          s.config.status.groups.split(/\s+/).includes(String(LAYERED.user.groups[0])) &&
          env.includes(LAYERED.env) &&
          env.includes(`HOME=${LAYERED.workdir}`) &&
          s.config.cwd === LAYERED.workdir,
      },
      {
        claim: 'inside, the deleted file is gone and the opaque directory shows only layer 3',
        ok:
          !!s.config?.layered &&
          s.config.layered.includes('new.txt') &&
          !s.config.layered.includes('old.txt') &&
          /os-release/.test(s.config.layered) &&
          /No such file/.test(s.config.layered),
      },
    ];
  },

  exercise: {
    file: '07-images.ts',
    functions: { layerEntryAction },
    solutionIn: ['lib/image/whiteout.ts'],
    contract:
      "write layerEntryAction(entry): what a layer's tar entry name does to the layer — create, whiteout, " +
      'opaque, or skip (aufs bookkeeping).',
    hints: [
      'Split at the last "/": dir is before it ("" at the top), the base name after it.',
      'Test the base name in this order: exactly ".wh..wh..opq" → opaque; starts with ".wh..wh." → skip; starts with ".wh." → whiteout of the rest.',
      'A ".wh..wh." component anywhere in dir (inside aufs bookkeeping) → skip too: dir.split("/").some((c) => c.startsWith(".wh..wh.")) — but not ".wh..wh..opq" itself.',
    ],
    minutes: 12,
    shape: {
      layerEntryAction: (v: unknown) =>
        typeof v === 'object' &&
        v !== null &&
        ['create', 'whiteout', 'opaque', 'skip'].includes(String((v as { action?: unknown }).action))
          ? undefined
          : 'layerEntryAction must return { action: "create" | "whiteout" | "opaque" | "skip", … }',
    },
  },

  recap: {
    saw: [
      'An image is layer tars plus a config, each named by its sha256; manifest.json or index.json ties them.',
      'The store unpacks each layer once, under its diff_id, checked while streaming; loads and pulls share it.',
      '.wh.NAME and .wh..wh..opq in a tar become overlayfs’s whiteouts and opaque directories.',
      'A registry serves the same blobs over HTTP; a classroom pulls through one mirror.',
      'The config gives the process: Entrypoint + Cmd, Env, WorkingDir, and User from the image’s own passwd.',
      'An image need not have a shell: the TypeScript init runs the same plan with no help from it.',
    ],
    next:
      'Lesson 08 gives the container a network of its own: a veth pair, a bridge, routes, NAT out, a published ' +
      'port, and two containers talking.',
  },
});

/** Poll the registry's API root until it answers (it starts in well under a second), or say why it ended. */
async function waitForRegistry(base: string, proc: BackgroundProcess): Promise<void> {
  let ended: string | undefined;
  void proc.wait().then((r) => (ended = r.stderr.trim() || `exit ${r.exitCode}`));
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/v2/`)).ok) return;
    } catch {
      // not listening yet
    }
    if (ended !== undefined) throw new Error(`the local registry stopped: ${ended}`);
    if (Date.now() > deadline) throw new Error(`the local registry did not answer on ${base}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
