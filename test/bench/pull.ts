/**
 * Pulling from a registry on 127.0.0.1 (Debian's docker-registry, started here with its storage in the bench's
 * directory) against `skopeo copy` of the same image to a directory, side by side, each into a fresh place every
 * round so nothing is "already there". Two images: the workshop's own (the busybox rootfs and two small layers
 * on top, what lessons pull) and a large one (one gzip layer of BENCH_PULL_MB, default 100 MB, made like the
 * unpack bench's layer). Ours is lib/image/pull.ts's `pull()` in this process — digests checked, every layer
 * unpacked into a store — while skopeo only downloads and checks the blobs; `ctr pull` is the same function
 * behind a command line (it is not on this branch yet).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileChunks } from '../../lib/image/source.ts';
import { pull } from '../../lib/image/pull.ts';
import { saveImages } from '../../lib/image/save.ts';
import { ImageStore } from '../../lib/image/store.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { workshopImages } from '../../rootfs-scripts/images.ts';
import { registrySkipReason, skopeoPush, startRegistry } from '../helpers/registry.ts';
import { makeBenchLayer } from './image.ts';
import { median, sideBySide, type Row } from './measure.ts';

export async function pullBenchmarks(opts: { runs: number; work: string; log: (l: string) => void }): Promise<Row[]> {
  const skip = registrySkipReason();
  if (skip) {
    opts.log(`  pull not measured: ${skip}`);
    return [];
  }
  const dir = path.join(opts.work, 'pull');
  fs.mkdirSync(dir, { recursive: true });
  const registry = await startRegistry(path.join(dir, 'registry'));
  try {
    const mb = Number(process.env.BENCH_PULL_MB ?? 100);
    const layer = await makeBenchLayer(path.join(dir, 'big.tar'), mb);
    await saveImages(
      [
        {
          names: ['scratch/bench:big'],
          config: {
            architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
            os: 'linux',
            rootfs: { type: 'layers', diff_ids: [] },
          },
          layers: [() => fileChunks(layer.file)],
        },
      ],
      path.join(dir, 'big.oci'),
      { format: 'oci-layout', gzip: true },
    );
    fs.rmSync(layer.file);
    skopeoPush(path.join(dir, 'big.oci'), 'big', `${registry.host}/scratch/bench:big`);
    const small = workshopImages(DEFAULT_ROOTFS).layers;
    await saveImages([{ ...small, names: ['scratch/layers:latest'] }], path.join(dir, 'small.oci'), {
      format: 'oci-layout',
      gzip: true,
    });
    skopeoPush(path.join(dir, 'small.oci'), 'latest', `${registry.host}/scratch/layers:latest`);

    let n = 0;
    const fresh = (what: string) => {
      const d = path.join(dir, `${what}-${n++}`);
      return d;
    };
    const ours = (ref: string) => async () => {
      const store = fresh('store');
      try {
        await pull(`${registry.host}/${ref}`, { store: new ImageStore(store) });
      } finally {
        fs.rmSync(store, { recursive: true, force: true });
      }
    };
    const skopeo = (ref: string) => () => {
      const out = fresh('skopeo');
      try {
        execFileSync(
          'skopeo',
          ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${registry.host}/${ref}`, `dir:${out}`],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    };
    const s = await sideBySide(
      {
        oursSmall: ours('scratch/layers:latest'),
        skopeoSmall: skopeo('scratch/layers:latest'),
        oursBig: ours('scratch/bench:big'),
        skopeoBig: skopeo('scratch/bench:big'),
      },
      opts.runs,
    );
    const rows: Row[] = [];
    for (const [key, label] of [
      ['Small', 'the workshop image (busybox + 2 layers)'],
      ['Big', `one ${mb} MB gzip layer`],
    ] as const) {
      const o = s[`ours${key}`] ?? [];
      const k = s[`skopeo${key}`] ?? [];
      rows.push(
        {
          group: 'pull',
          what: `pull() of ${label}: download, digests, unpack`,
          value: median(o),
          unit: 'ms',
          samples: o,
        },
        { group: 'pull', what: `skopeo copy of ${label} to a directory`, value: median(k), unit: 'ms', samples: k },
        {
          group: 'pull',
          what: `pull speed ÷ skopeo's (${label})`,
          value: median(k) / median(o),
          unit: '×',
          goal: { op: '>=', value: 1 },
        },
      );
    }
    return rows;
  } finally {
    await registry.stop();
  }
}
