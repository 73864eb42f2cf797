import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { sha256 } from '../../lib/image/digest.ts';
import {
  MANIFEST_ACCEPT,
  MEDIA_TYPES,
  parseManifest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../lib/image/manifest.ts';
import {
  hostPlatform,
  parsePlatform,
  platformCandidates,
  resolveManifest,
  type Platform,
} from '../../lib/image/platform.ts';

const d = (n: number) => sha256(String(n));

function manifestFor(p: Platform | undefined, n: number, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: MEDIA_TYPES.ociManifest, digest: d(n), size: 100, ...(p ? { platform: p } : {}), ...extra };
}

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };

describe('manifests', () => {
  it('accepts all four manifest media types', () => {
    for (const t of Object.values(MEDIA_TYPES).slice(0, 4)) expect(MANIFEST_ACCEPT).toContain(t);
  });

  it('reads an OCI manifest and a Docker manifest list, checking every descriptor', () => {
    const m = parseManifest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.dockerManifest,
          config: manifestFor(undefined, 1),
          layers: [manifestFor(undefined, 2)],
        }),
      ),
      undefined,
      'm',
    ) as ImageManifest;
    expect([m.kind, m.layers.length, m.config.digest]).toEqual(['manifest', 1, d(1)]);
    const list = parseManifest(
      Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [manifestFor(amd64, 3)] })),
      `${MEDIA_TYPES.dockerManifestList}; charset=utf-8`,
      'l',
    );
    expect(list.kind).toBe('index');
  });

  it.each([
    [{ schemaVersion: 1, fsLayers: [] }, /schema 1 manifest/],
    [
      {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: 'x', digest: 'sha256:1', size: 1 },
        layers: [],
      },
      /invalid digest/,
    ],
    [
      {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: manifestFor(undefined, 1),
        layers: [{ ...manifestFor(undefined, 2), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }],
      },
      /zstd/,
    ],
    [
      {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: manifestFor(undefined, 1),
        layers: [{ ...manifestFor(undefined, 2), urls: ['https://x'] }],
      },
      /foreign layer/,
    ],
    [{ schemaVersion: 2, mediaType: 'application/json' }, /not an image manifest/],
  ])('refuses %j with one clear error', (json, why) => {
    expect(() => parseManifest(Buffer.from(JSON.stringify(json)), undefined, 'm')).toThrow(why);
  });

  it('refuses a manifest that is not JSON', () => {
    expect(() => parseManifest(Buffer.from('<html>'), undefined, 'm')).toThrow(UserError);
  });
});

describe('platforms', () => {
  it("names this machine's platform as image indexes do", () => {
    expect(hostPlatform('x64')).toEqual(amd64);
    expect(hostPlatform('arm64')).toEqual(arm64);
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v7')).toEqual(armv7);
  });

  it('picks the matching platform, skipping attestations, preferring the same variant', () => {
    const index = [
      manifestFor({ os: 'unknown', architecture: 'unknown' }, 0),
      manifestFor(armv7, 1),
      manifestFor({ os: 'linux', architecture: 'arm64' }, 2),
      manifestFor(arm64, 3),
      manifestFor(amd64, 4),
      manifestFor(amd64, 5, { annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }),
    ];
    expect(platformCandidates(index, arm64).map((x) => x.digest)).toEqual([d(3), d(2)]);
    expect(platformCandidates(index, amd64).map((x) => x.digest)).toEqual([d(4)]);
    expect(platformCandidates(index, { os: 'linux', architecture: 'riscv64' })).toEqual([]);
  });

  it('walks an index that points at a nested index down to the manifest for the platform', async () => {
    const leafAmd = {
      kind: 'manifest',
      mediaType: MEDIA_TYPES.ociManifest,
      config: manifestFor(undefined, 10),
      layers: [],
    } as ImageManifest;
    const leafArm = { ...leafAmd, config: manifestFor(undefined, 11) };
    const nested: ImageIndex = {
      kind: 'index',
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [manifestFor(amd64, 20), manifestFor(arm64, 21)],
    };
    const top: ImageIndex = {
      kind: 'index',
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [{ mediaType: MEDIA_TYPES.ociIndex, digest: d(30), size: 1 }],
    };
    const blobs = new Map<string, ImageManifest | ImageIndex>([
      [d(30), nested],
      [d(20), leafAmd],
      [d(21), leafArm],
    ]);
    const open = async (x: Descriptor) => blobs.get(x.digest) as ImageManifest | ImageIndex;
    expect((await resolveManifest(top, open, amd64, 'img')).manifest).toBe(leafAmd);
    const arm = await resolveManifest(top, open, arm64, 'img');
    expect([arm.manifest, arm.descriptor?.digest]).toEqual([leafArm, d(21)]);
    await expect(resolveManifest(top, open, armv7, 'img')).rejects.toThrow(
      /img has no image for linux\/arm\/v7 \(it has linux\/amd64, linux\/arm64\/v8\)/,
    );
  });

  it('takes the only, unlabelled manifest of an index (as docker save writes index.json)', async () => {
    const leaf = {
      kind: 'manifest',
      mediaType: MEDIA_TYPES.ociManifest,
      config: manifestFor(undefined, 10),
      layers: [],
    } as ImageManifest;
    const top: ImageIndex = { kind: 'index', mediaType: MEDIA_TYPES.ociIndex, manifests: [manifestFor(undefined, 40)] };
    expect((await resolveManifest(top, async () => leaf, arm64, 'img')).manifest).toBe(leaf);
  });
});
