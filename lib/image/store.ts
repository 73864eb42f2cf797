/**
 * The image store: layers unpacked once, by content, and images as named lists of them.
 *
 *     <root>/layers/sha256/<diff_id>/       one unpacked layer (an overlayfs lower dir), named by the digest
 *                                           of its uncompressed tar, so it is unpacked once whoever needs it
 *     <root>/layers/sha256/<diff_id>.json   its size and when it was unpacked
 *     <root>/blobs/sha256/<digest>          image configs (small JSON), by digest
 *     <root>/images/<name>.json             one image: its config digest (the image id) and layers, bottom
 *                                           first; `docker.io/library/busybox:latest` is stored as
 *                                           `docker.io+library+busybox:latest.json` (no name has a `+`)
 *     <root>/tmp/<pid>-<random>/            a layer being unpacked
 *
 * A layer is unpacked into tmp/ and renamed into layers/ only once both its digests have been checked, so a
 * failed or killed unpack never leaves a half layer that looks whole; two unpacks of the same layer at once each
 * finish in their own tmp dir and the second rename simply loses. Removing an image removes the layers no other
 * image uses (renamed away first, for the same reason). The short decisions (does this layer exist, what may be
 * deleted) run under a lock directory, and a running pull holds a *lease* on the layers it is about to use, so
 * a concurrent `rmi` never deletes them under it. `layers/` and `tmp/` are mode 0700: image layers may hold
 * setuid programs, which host users must not reach.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { LIB_ROOT } from '../names.ts';
import { parseImageConfig, type ImageConfig } from './config.ts';
import {
  assertDigest,
  digestHex,
  isDigest,
  parseDigest,
  sha256,
  shortDigest,
  verifyBuffer,
  type Digest,
} from './digest.ts';
import { readLayerBlob, type Compression } from './layer-stream.ts';
import { canonicalReference, familiarName, parseReference } from './reference.ts';
import { unpackLayer, type UnpackStats } from './unpack.ts';

export const DEFAULT_STORE_ROOT = LIB_ROOT;

export interface ImageRecord {
  /** Canonical reference: `docker.io/library/busybox:latest` (or `…@sha256:…` when pulled by digest). */
  name: string;
  /** The config's digest: docker's image id. */
  id: Digest;
  /** The manifest it came from, when it came from one. */
  manifest?: Digest;
  /** diff_ids, bottom layer first (the config's order). */
  layers: Digest[];
  /** When it was stored (ISO 8601). */
  stored: string;
  /** Where it came from: `pull localhost:5000`, `load busybox.tar`, `commit 06ab12`. */
  source: string;
}

export interface LayerInfo {
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  size: number;
  unpacked: string;
}

export interface AddLayerOptions {
  /** The diff_id the config promises; checked against the uncompressed stream. */
  diffId?: Digest;
  /** The blob digest the manifest promises; checked against the stream as it arrives. */
  blobDigest?: Digest;
  /** Called with each chunk's size as the blob is read: progress. */
  onBytes?: (n: number) => void;
  /** How to name the layer in errors: `layer 2/3 (sha256:ab12…) of busybox:latest`. */
  label?: string;
}

export interface AddedLayer extends LayerInfo {
  /** False when another unpack of the same layer finished first (its copy is kept). */
  created: boolean;
  blobDigest: Digest;
  compression: Compression;
  stats: UnpackStats;
}

export interface RemoveResult {
  untagged: string[];
  deletedLayers: Digest[];
}

const LOCK_WAIT_MS = 30_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** File name of an image record: the canonical name with `/` spelled `+`. */
export function recordFileName(name: string): string {
  return `${name.replaceAll('/', '+')}.json`;
}

export class ImageStore {
  constructor(readonly root: string = DEFAULT_STORE_ROOT) {}

  private dir(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  private ensure(dir: string, mode = 0o755): string {
    fs.mkdirSync(dir, { recursive: true, mode });
    return dir;
  }

  layerDir(diffId: Digest): string {
    return this.dir('layers', 'sha256', digestHex(diffId));
  }

  hasLayer(diffId: Digest): boolean {
    return fs.existsSync(this.layerDir(diffId));
  }

  layerInfo(diffId: Digest): LayerInfo | undefined {
    try {
      return JSON.parse(fs.readFileSync(`${this.layerDir(diffId)}.json`, 'utf8')) as LayerInfo;
    } catch {
      return undefined;
    }
  }

  /** A fresh directory under tmp/, named after this process so that a dead one's can be found. */
  private tempDir(): string {
    this.ensure(this.dir('layers', 'sha256'), 0o700);
    fs.chmodSync(this.dir('layers'), 0o700);
    const tmp = this.ensure(this.dir('tmp'), 0o700);
    return fs.mkdtempSync(path.join(tmp, `${process.pid}-`));
  }

  /** Remove what dead processes left in tmp/ (a killed unpack). Safe while other processes unpack. */
  tidy(): string[] {
    const removed: string[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.dir('tmp'));
    } catch {
      return removed;
    }
    for (const name of names) {
      if (name === 'lock') continue;
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
      fs.rmSync(this.dir('tmp', name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  /**
   * Unpack a layer blob (gzip or plain tar) into the store, verifying its digests while it streams. The layer
   * appears under layers/ only when complete and verified; on any error nothing of it is left.
   */
  async addLayer(source: AsyncIterable<Uint8Array>, opts: AddLayerOptions = {}): Promise<AddedLayer> {
    const label = opts.label ?? `layer ${opts.diffId ? shortDigest(opts.diffId) : ''}`.trim();
    const tmp = this.tempDir();
    try {
      fs.chmodSync(tmp, 0o755);
      const r = await readLayerBlob(source, (tar) => unpackLayer(tar, tmp), { onBlobBytes: opts.onBytes });
      if (opts.blobDigest) assertDigest(r.blobDigest, opts.blobDigest, 'the blob');
      if (opts.diffId) assertDigest(r.diffId, opts.diffId, 'the uncompressed tar');
      const info: LayerInfo = { diffId: r.diffId, size: r.tarBytes, unpacked: new Date().toISOString() };
      const final = this.layerDir(r.diffId);
      const infoTmp = `${tmp}.json`;
      fs.writeFileSync(infoTmp, `${JSON.stringify(info)}\n`);
      fs.renameSync(infoTmp, `${final}.json`);
      let created = true;
      try {
        fs.renameSync(tmp, final);
      } catch (e) {
        if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        created = false;
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      return { ...info, created, blobDigest: r.blobDigest, compression: r.compression, stats: r.value };
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.rmSync(`${tmp}.json`, { force: true });
      throw e instanceof UserError
        ? new UserError(`${label}: ${e.message}`, e.fix ?? 'fetch or save the image again')
        : e;
    }
  }

  hasBlob(digest: Digest): boolean {
    return fs.existsSync(this.dir('blobs', 'sha256', digestHex(digest)));
  }

  /** Store a small blob (a config); its digest is its name. */
  writeBlob(data: Buffer, expected?: Digest, what = 'the blob'): Digest {
    const digest = expected ? (verifyBuffer(data, expected, what), expected) : sha256(data);
    const dir = this.ensure(this.dir('blobs', 'sha256'));
    const file = path.join(dir, digestHex(digest));
    if (!fs.existsSync(file)) {
      const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, file);
    }
    return digest;
  }

  /** Read a stored blob back, checking it is still what its name says. */
  readBlob(digest: Digest): Buffer {
    const file = this.dir('blobs', 'sha256', digestHex(digest));
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      throw new UserError(
        `blob ${shortDigest(digest)} is missing from the image store (${this.root})`,
        'load or pull the image again',
      );
    }
    return verifyBuffer(data, digest, `stored blob ${shortDigest(digest)}`);
  }

  config(record: ImageRecord): ImageConfig {
    return parseImageConfig(this.readBlob(record.id), `the config of ${displayName(record.name)}`);
  }

  /** Record an image under its name (replacing whatever had that name), after checking its layers are here. */
  putImage(input: Omit<ImageRecord, 'stored'> & { stored?: string }): ImageRecord {
    const name = canonicalReference(parseReference(input.name));
    for (const d of input.layers) {
      if (!this.hasLayer(d)) throw new Error(`cannot record ${name}: layer ${shortDigest(d)} is not in the store`);
    }
    if (!this.hasBlob(input.id))
      throw new Error(`cannot record ${name}: config ${shortDigest(input.id)} is not stored`);
    const record: ImageRecord = { ...input, name, stored: input.stored ?? new Date().toISOString() };
    const dir = this.ensure(this.dir('images'));
    const file = path.join(dir, recordFileName(name));
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
    fs.renameSync(tmp, file);
    return record;
  }

  /** Every image, sorted by name. */
  list(): ImageRecord[] {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir('images')).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    const out: ImageRecord[] = [];
    for (const f of files) {
      try {
        const r = JSON.parse(fs.readFileSync(this.dir('images', f), 'utf8')) as ImageRecord;
        if (typeof r.name === 'string' && isDigest(r.id) && Array.isArray(r.layers)) out.push(r);
      } catch {
        // Being replaced right now, or damaged: not an image.
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** An image by name (`busybox`, `busybox:1`, a full reference) or by id (`sha256:…` or a unique prefix). */
  get(ref: string): ImageRecord | undefined {
    const all = this.list();
    try {
      const name = canonicalReference(parseReference(ref));
      const byName = all.find((r) => r.name === name);
      if (byName) return byName;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
    const hex = ref.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{4,64}$/.test(hex)) return undefined;
    const ids = new Set(all.filter((r) => digestHex(r.id).startsWith(hex)).map((r) => r.id));
    if (ids.size > 1) throw new UserError(`image id prefix ${hex} is ambiguous`, 'give more digits of the id');
    return all.find((r) => ids.has(r.id));
  }

  /** `get`, or a UserError saying how to get the image. */
  require(ref: string): ImageRecord {
    const r = this.get(ref);
    if (!r) throw new UserError(`no image ${ref} in ${this.root}`, `ctr pull ${ref}   (or ctr load -i FILE)`);
    return r;
  }

  /** Bytes of the image's layers (uncompressed tars), as `docker images` shows SIZE. */
  size(record: ImageRecord): number {
    return record.layers.reduce((sum, d) => sum + (this.layerInfo(d)?.size ?? 0), 0);
  }

  /** The image's layer directories as overlayfs `lowerdir` wants them: top layer first. */
  lowerDirs(record: ImageRecord): string[] {
    return [...record.layers].reverse().map((d) => this.layerDir(d));
  }

  /** Run a short critical section with the store locked against other processes. */
  withLock<T>(fn: () => T): T {
    this.ensure(this.dir('tmp'), 0o700);
    const lock = this.dir('tmp', 'lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        fs.mkdirSync(lock);
        fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = Number(readOr(path.join(lock, 'pid'), ''));
        if (holder > 0 && !processAlive(holder)) {
          fs.rmSync(lock, { recursive: true, force: true });
          continue;
        }
        if (Date.now() > deadline)
          throw new UserError(`the image store ${this.root} stays locked by process ${holder}`);
        sleepSync(20);
      }
    }
    try {
      return fn();
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }

  /**
   * Promise not to delete these layers (or config blobs) until `release()` or this process's death: taken by a
   * pull before it decides which layers it need not download, so a concurrent rmi cannot remove them under it.
   */
  lease(layers: readonly Digest[]): () => void {
    const dir = this.ensure(this.dir('leases'));
    const file = path.join(dir, `${process.pid}-${crypto.randomBytes(4).toString('hex')}.json`);
    this.withLock(() => fs.writeFileSync(file, JSON.stringify(layers)));
    return () => fs.rmSync(file, { force: true });
  }

  private leasedLayers(): Set<string> {
    const out = new Set<string>();
    let files: string[];
    try {
      files = fs.readdirSync(this.dir('leases'));
    } catch {
      return out;
    }
    for (const f of files) {
      const pid = Number(f.split('-')[0]);
      if (!processAlive(pid)) {
        fs.rmSync(this.dir('leases', f), { force: true });
        continue;
      }
      for (const d of JSON.parse(readOr(this.dir('leases', f), '[]')) as string[]) out.add(d);
    }
    return out;
  }

  /**
   * Remove an image by name (that name only) or by id (every name it has), then delete the layers and configs
   * nothing uses any more. `inUse` lets the runtime keep layers a container still has mounted.
   */
  remove(ref: string, opts: { inUse?: (diffId: Digest) => boolean } = {}): RemoveResult {
    const target = this.require(ref);
    const byName = (() => {
      try {
        return canonicalReference(parseReference(ref)) === target.name;
      } catch {
        return false;
      }
    })();
    const doomed = byName ? [target] : this.list().filter((r) => r.id === target.id);
    return this.withLock(() => {
      for (const r of doomed) fs.rmSync(this.dir('images', recordFileName(r.name)), { force: true });
      const deletedLayers = this.collectGarbage(opts.inUse);
      return { untagged: doomed.map((r) => r.name), deletedLayers };
    });
  }

  /** Delete layers and configs no image references (call under the lock). */
  private collectGarbage(inUse?: (diffId: Digest) => boolean): Digest[] {
    const images = this.list();
    const keep = new Set<string>([...images.flatMap((r) => r.layers), ...this.leasedLayers()]);
    const configs = new Set<string>([...images.map((r) => r.id), ...keep]);
    const deleted: Digest[] = [];
    const layersDir = this.dir('layers', 'sha256');
    for (const name of readdirOr(layersDir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const d = parseDigest(`sha256:${name}`, 'a layer directory');
      if (keep.has(d) || inUse?.(d)) continue;
      // Renamed out first: a layer is either whole under layers/ or not there at all.
      const trash = fs.mkdtempSync(path.join(this.dir('tmp'), `${process.pid}-rm-`));
      fs.renameSync(path.join(layersDir, name), path.join(trash, name));
      fs.rmSync(path.join(layersDir, `${name}.json`), { force: true });
      fs.rmSync(trash, { recursive: true, force: true });
      deleted.push(d);
    }
    for (const name of readdirOr(this.dir('blobs', 'sha256'))) {
      if (/^[a-f0-9]{64}$/.test(name) && !configs.has(`sha256:${name}`)) {
        fs.rmSync(this.dir('blobs', 'sha256', name), { force: true });
      }
    }
    return deleted;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function readdirOr(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** `busybox:latest` for `docker.io/library/busybox:latest`: how `ctr images` shows a name. */
export function displayName(name: string): string {
  try {
    return familiarName(parseReference(name));
  } catch {
    return name;
  }
}
