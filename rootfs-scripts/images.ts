/**
 * Build the workshop's images offline, from the busybox rootfs, in every format lesson 07 reads.
 *
 * A classroom shares one internet connection and Docker Hub counts anonymous pulls per address, so lessons 06
 * and 07 must not need the network. Two small images are built here, each written as a classic docker-archive
 * (`docker save` before Docker 25), a Docker 25+ archive (an OCI layout with docker's manifest.json), and an
 * OCI image layout with gzip layers, as a .tar and as a directory (what `skopeo copy oci:DIR:TAG` reads):
 *
 *   - `scratch/layers`: layer 1 is the busybox rootfs; layer 2 adds /etc/greeting, a user `learner`, and
 *     /srv/app/old.txt, and deletes /etc/os-release; layer 3 makes /srv/app opaque with only new.txt in it.
 *     The config sets Env, Cmd, WorkingDir and User, so a container shows each being applied.
 *   - `scratch/noshell`: one file, busybox's static binary as /echo, and an Entrypoint — an image with no
 *     shell, which an init written as a shell script cannot start.
 *
 * The device nodes of the rootfs's /dev are left out (images carry none; a container gets its own /dev). The
 * build happens in a temporary directory renamed into place, and is skipped when the rootfs has not changed.
 *
 *   node --import tsx rootfs-scripts/images.ts [--out DIR] [--rootfs DIR] [--force]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main } from '../lib/cli/main.ts';
import { UserError } from '../lib/errors.ts';
import type { ImageConfig } from '../lib/image/config.ts';
import { tarDirectory } from '../lib/image/layer-tar.ts';
import { hostPlatform } from '../lib/image/platform.ts';
import { saveImages, type ImageToSave, type SaveOptions } from '../lib/image/save.ts';
import { writeTar, type TarWriteEntry } from '../lib/image/tar-writer.ts';
import { DEFAULT_ROOTFS, LIB_ROOT } from '../lib/names.ts';
import { rootfsExists } from '../lib/rootfs.ts';
import { STAMP as ROOTFS_STAMP } from './busybox.ts';

export const IMAGES_SRC = path.join(LIB_ROOT, 'images-src');
const STAMP = '.scratch-images.json';
/** Bump when the images below change, so existing outputs are rebuilt. */
const FORMAT = 1;
/** Layers 2 and 3 are made here, with this time: the same bytes, so the same digests, on every machine. */
const MTIME = 1_700_000_000;

/** What the layered image holds, for lessons and tests to check against rather than repeat. */
export const LAYERED = {
  name: 'scratch/layers:latest',
  added: { path: '/etc/greeting', text: 'hello from layer 2\n' },
  deleted: '/etc/os-release',
  opaqueDir: '/srv/app',
  hidden: '/srv/app/old.txt',
  visible: { path: '/srv/app/new.txt', text: 'from layer 3\n' },
  user: { name: 'learner', uid: 1000, gid: 1000, groups: [50] },
  workdir: '/home/learner',
  env: 'GREETING=hello from the image config',
  cmd: ['cat', '/etc/greeting'],
} as const;

export const NOSHELL = {
  name: 'scratch/noshell:latest',
  entrypoint: ['/echo'],
  cmd: ['hello from an image with no shell'],
} as const;

export type ImageFormatFile = 'docker' | 'docker25' | 'oci' | 'ociDir';

/** Output names: `<image>.<format>` in the output directory. */
export const OUTPUTS: Record<ImageFormatFile, { suffix: string; save: SaveOptions }> = {
  docker: { suffix: '.docker.tar', save: { format: 'docker-archive', tar: true } },
  docker25: { suffix: '.docker25.tar', save: { format: 'docker-archive-25', tar: true } },
  oci: { suffix: '.oci.tar', save: { format: 'oci-layout', tar: true } },
  ociDir: { suffix: '.oci', save: { format: 'oci-layout' } },
};

export interface BuildImagesOptions {
  rootfs?: string;
  outDir?: string;
  force?: boolean;
  log?: (line: string) => void;
}

export interface BuiltImages {
  dir: string;
  built: boolean;
  /** `files.layers.oci` → /var/lib/scratch/images-src/layers.oci.tar */
  files: Record<'layers' | 'noshell', Record<ImageFormatFile, string>>;
}

function outputFiles(dir: string): BuiltImages['files'] {
  const of = (image: string) =>
    Object.fromEntries(Object.entries(OUTPUTS).map(([k, v]) => [k, path.join(dir, `${image}${v.suffix}`)])) as Record<
      ImageFormatFile,
      string
    >;
  return { layers: of('layers'), noshell: of('noshell') };
}

function file(name: string, body: string, extra: Partial<TarWriteEntry> = {}): TarWriteEntry {
  return { name, type: 'file', mode: 0o644, mtime: MTIME, body, ...extra };
}

function dir(name: string, extra: Partial<TarWriteEntry> = {}): TarWriteEntry {
  return { name, type: 'dir', mode: 0o755, mtime: MTIME, ...extra };
}

/** Layer 2: adds a file, a user and a directory with a file in it; deletes /etc/os-release. */
export function layer2Entries(rootfs: string): TarWriteEntry[] {
  const { user } = LAYERED;
  const passwd = fs.readFileSync(path.join(rootfs, 'etc', 'passwd'), 'utf8');
  const group = fs.readFileSync(path.join(rootfs, 'etc', 'group'), 'utf8');
  return [
    dir('etc'),
    file('etc/greeting', LAYERED.added.text),
    // A changed file travels whole in the upper layer: the user is added by a new copy of passwd.
    file('etc/passwd', `${passwd}${user.name}:x:${user.uid}:${user.gid}::${LAYERED.workdir}:/bin/sh\n`),
    file('etc/group', `${group}${user.name}:x:${user.gid}:\nstaff:x:${user.groups[0]}:${user.name}\n`),
    file(`etc/.wh.${path.basename(LAYERED.deleted)}`, ''),
    dir('home'),
    dir('home/learner', { uid: user.uid, gid: user.gid }),
    dir('srv'),
    dir('srv/app'),
    file('srv/app/old.txt', 'from layer 2, hidden by layer 3\n'),
  ];
}

/** Layer 3: /srv/app made opaque, so old.txt from layer 2 no longer shows; new.txt does. */
export function layer3Entries(): TarWriteEntry[] {
  return [dir('srv'), dir('srv/app'), file('srv/app/.wh..wh..opq', ''), file('srv/app/new.txt', LAYERED.visible.text)];
}

function config(created: string, c: ImageConfig['config'], history: string[]): ImageConfig {
  const p = hostPlatform();
  return {
    architecture: p.architecture,
    ...(p.variant ? { variant: p.variant } : {}),
    os: 'linux',
    created,
    config: c,
    rootfs: { type: 'layers', diff_ids: [] },
    history: history.map((h) => ({ created, created_by: h })),
  };
}

/** The two images, as save.ts takes them. */
export function workshopImages(rootfs: string): { layers: ImageToSave; noshell: ImageToSave } {
  const created = new Date(MTIME * 1000).toISOString();
  const rootfsLayer = () => tarDirectory(rootfs, { kind: 'rootfs', exclude: (rel) => rel === ROOTFS_STAMP });
  const busybox = path.join(rootfs, 'bin', 'busybox');
  return {
    layers: {
      names: [LAYERED.name],
      config: config(
        created,
        {
          Env: ['PATH=/bin:/sbin:/usr/bin:/usr/sbin', LAYERED.env],
          Cmd: [...LAYERED.cmd],
          WorkingDir: LAYERED.workdir,
          User: LAYERED.user.name,
        },
        ['busybox rootfs', 'add /etc/greeting and a user, delete /etc/os-release', 'make /srv/app opaque'],
      ),
      layers: [rootfsLayer, () => writeTar(layer2Entries(rootfs)), () => writeTar(layer3Entries())],
    },
    noshell: {
      names: [NOSHELL.name],
      config: config(created, { Env: ['PATH=/'], Entrypoint: [...NOSHELL.entrypoint], Cmd: [...NOSHELL.cmd] }, [
        'busybox as /echo, alone',
      ]),
      layers: [
        () =>
          writeTar([
            {
              name: 'echo',
              type: 'file',
              mode: 0o755,
              mtime: MTIME,
              size: fs.statSync(busybox).size,
              body: () => fs.createReadStream(busybox),
            },
          ]),
      ],
    },
  };
}

function rootfsFingerprint(rootfs: string): string {
  let stamp = '';
  try {
    stamp = fs.readFileSync(path.join(rootfs, ROOTFS_STAMP), 'utf8');
  } catch {
    stamp = String(fs.statSync(rootfs).mtimeMs);
  }
  return crypto.createHash('sha256').update(`${FORMAT}\n${stamp}`).digest('hex');
}

export async function buildImages(opts: BuildImagesOptions = {}): Promise<BuiltImages> {
  const rootfs = path.resolve(opts.rootfs ?? DEFAULT_ROOTFS);
  const outDir = path.resolve(opts.outDir ?? IMAGES_SRC);
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (!rootfsExists(rootfs)) throw new UserError(`no busybox rootfs in ${rootfs}`, 'npm run rootfs');
  const fingerprint = rootfsFingerprint(rootfs);
  const stampFile = path.join(outDir, STAMP);
  const files = outputFiles(outDir);
  if (!opts.force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === fingerprint) {
    return { dir: outDir, built: false, files };
  }
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  const tmp = `${outDir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    const images = workshopImages(rootfs);
    for (const [image, spec] of Object.entries(images)) {
      for (const [, out] of Object.entries(OUTPUTS)) {
        const target = path.join(tmp, `${image}${out.suffix}`);
        await saveImages([spec], target, out.save);
        log(`  ${path.basename(target)}`);
      }
    }
    fs.writeFileSync(path.join(tmp, STAMP), `${fingerprint}\n`);
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(tmp, outDir);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return { dir: outDir, built: true, files };
}

const USAGE = `npm run images [-- --out DIR] [--rootfs DIR] [--force]
  Builds the workshop's images (docker-archive and OCI layout) from the busybox rootfs, for ctr load and lesson 07.`;

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main(
    async () => {
      const { values } = parseArgs({
        options: {
          out: { type: 'string' },
          rootfs: { type: 'string' },
          force: { type: 'boolean', default: false },
        },
      });
      const r = await buildImages({ outDir: values.out, rootfs: values.rootfs, force: values.force });
      console.log(
        r.built ? `✔ images built in ${r.dir}` : `✔ images already up to date in ${r.dir} (--force rebuilds)`,
      );
      console.log(`  load one with: ctr load -i ${r.files.layers.oci}`);
    },
    { usage: USAGE },
  );
}

export const IMAGES_SCRIPT = fileURLToPath(import.meta.url);
