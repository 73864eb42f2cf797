/**
 * The registry client against a small registry written here, on 127.0.0.1: the parts of Docker Hub's
 * behaviour a local docker-registry does not have — the anonymous bearer-token dance, blob redirects to another
 * host, rate limiting, a password wall.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { pull } from '../../lib/image/pull.ts';
import { parseChallenge, RegistryClient } from '../../lib/image/registry.ts';
import { saveImages } from '../../lib/image/save.ts';
import { ImageStore } from '../../lib/image/store.ts';
import { writeTar } from '../../lib/image/tar-writer.ts';
import { tempDir } from '../helpers/image.ts';

interface Seen {
  path: string;
  host: string;
  authorization: string | undefined;
}

describe('the registry client, against a registry that behaves like Docker Hub', () => {
  let dir: string;
  let server: http.Server;
  let port: number;
  const seen: Seen[] = [];
  const tokenQueries: string[] = [];

  beforeAll(async () => {
    dir = tempDir('hub');
    const layout = path.join(dir, 'app.oci');
    await saveImages(
      [
        {
          names: ['scratch/app:1'],
          config: {
            architecture: 'amd64',
            os: 'linux',
            config: { Cmd: ['/hello'] },
            rootfs: { type: 'layers', diff_ids: [] },
          },
          layers: [() => writeTar([{ name: 'hello', type: 'file', mode: 0o755, body: 'hi\n' }])],
        },
      ],
      layout,
      { format: 'oci-layout' },
    );
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const manifestDigest: string = index.manifests[0].digest;
    const blob = (digest: string) => path.join(layout, 'blobs/sha256', digest.replace('sha256:', ''));

    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      seen.push({ path: url.pathname, host: req.headers.host ?? '', authorization: req.headers.authorization });
      if (url.pathname === '/token') {
        tokenQueries.push(url.search);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon-token' }));
        return;
      }
      if (url.pathname.startsWith('/storage/')) {
        // The blob store a registry redirects to: it must not receive the registry's token.
        if (req.headers.authorization) return void res.writeHead(400).end('two credentials');
        return void res.writeHead(200).end(fs.readFileSync(blob(url.pathname.slice('/storage/'.length))));
      }
      const m = /^\/v2\/scratch\/(\w+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
      if (!m) return void res.writeHead(404).end();
      const [, repo, kind, ref] = m as unknown as [string, string, string, string];
      if (repo === 'limited') return void res.writeHead(429).end();
      if (repo === 'private') {
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      }
      if (req.headers.authorization !== 'Bearer anon-token') {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test.registry",scope="repository:scratch/${repo}:pull"`,
        });
        return void res.end();
      }
      if (kind === 'manifests') {
        const digest = ref === '1' ? manifestDigest : ref;
        if (!fs.existsSync(blob(digest))) return void res.writeHead(404).end();
        res.writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': digest,
        });
        return void res.end(fs.readFileSync(blob(digest)));
      }
      // Blobs live elsewhere, on another origin (localhost is not 127.0.0.1 to a browser or to fetch).
      res.writeHead(307, { location: `http://localhost:${port}/storage/${ref}` }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a WWW-Authenticate challenge, quoted commas and all', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:a/b:pull,push',
      },
    });
  });

  it('answers a 401 by fetching an anonymous token from the realm, then pulls with it', async () => {
    seen.length = 0;
    const store = new ImageStore(path.join(dir, 'store'));
    const r = await pull(`127.0.0.1:${port}/scratch/app:1`, { store });
    expect(tokenQueries).toEqual(['?service=test.registry&scope=repository%3Ascratch%2Fapp%3Apull']);
    expect(fs.readFileSync(path.join(store.layerDir(r.record.layers[0] as `sha256:${string}`), 'hello'), 'utf8')).toBe(
      'hi\n',
    );
    // One unauthenticated try, then every registry request carries the token; the blob store never sees it.
    const registry = seen.filter((s) => s.path.startsWith('/v2/'));
    expect(registry[0]?.authorization).toBeUndefined();
    expect(registry.slice(1).every((s) => s.authorization === 'Bearer anon-token')).toBe(true);
    const storage = seen.filter((s) => s.path.startsWith('/storage/'));
    expect(storage.length).toBe(2);
    expect(storage.every((s) => s.host === `localhost:${port}` && s.authorization === undefined)).toBe(true);
  });

  it('says what to do when Docker Hub rate-limits the classroom', async () => {
    const err = await new RegistryClient(`http://127.0.0.1:${port}`, 'scratch/limited')
      .getManifest('1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/too many requests/);
    expect((err as UserError).fix).toMatch(/SCRATCH_REGISTRY_MIRROR/);
  });

  it('says it only pulls anonymously when a registry asks for a password', async () => {
    await expect(new RegistryClient(`http://127.0.0.1:${port}`, 'scratch/private').getManifest('1')).rejects.toThrow(
      /wants a user name and password for scratch\/private/,
    );
  });

  it('names the image when the tag does not exist', async () => {
    await expect(
      pull(`127.0.0.1:${port}/scratch/app:nope`, { store: new ImageStore(path.join(dir, 'none')) }),
    ).rejects.toThrow(/scratch\/app:nope was not found on 127\.0\.0\.1/);
  });
});
