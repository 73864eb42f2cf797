/**
 * A registry client: the OCI distribution API, read-only and anonymous.
 *
 * A registry is a web server with two kinds of things per repository: manifests, fetched by tag or digest at
 * `GET /v2/<repository>/manifests/<reference>` (the `Accept` header lists the manifest formats the client
 * understands), and blobs — configs and layers — fetched by digest at `GET /v2/<repository>/blobs/<digest>`
 * (often answered with a redirect to a storage server). Docker Hub, like most public registries, wants a token
 * even for anonymous pulls: the first request is answered `401` with a `WWW-Authenticate: Bearer realm=…,
 * service=…, scope=…` header, the client fetches a token from that realm, and repeats the request with
 * `Authorization: Bearer <token>`. Nothing a registry sends is trusted: everything fetched by digest is
 * checked against it by the caller.
 */
import { UserError } from '../errors.ts';
import { sha256, shortDigest, verifyBuffer, type Digest } from './digest.ts';
import { MANIFEST_ACCEPT, MAX_MANIFEST_SIZE } from './manifest.ts';

export type Fetch = typeof globalThis.fetch;

export interface RegistryClientOptions {
  /** Injected in tests to count or answer requests. */
  fetch?: Fetch;
  /** How long to wait for the headers of a manifest or token response. */
  timeoutMs?: number;
}

export interface FetchedManifest {
  data: Buffer;
  /** From Content-Type. */
  mediaType: string | undefined;
  /** sha256 of the bytes received. */
  digest: Digest;
}

/** A `WWW-Authenticate` challenge: the scheme and its parameters (values may be quoted and contain commas). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/.exec(header);
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m?.[2] ?? ''); p; p = re.exec(m?.[2] ?? '')) {
    params[(p[1] ?? '').toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

/** The one-line error for a network failure: what could not be reached and why (fetch hides it in `cause`). */
function unreachable(host: string, e: unknown): UserError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e as Error).message;
  return new UserError(
    `cannot reach the registry ${host} (${why})`,
    'check the name and the network, or the mirror setting',
  );
}

export class RegistryClient {
  private readonly fetch: Fetch;
  private token: string | undefined;
  readonly host: string;

  constructor(
    /** `https://registry-1.docker.io`, `http://127.0.0.1:5000` */
    readonly baseUrl: string,
    readonly repository: string,
    private readonly opts: RegistryClientOptions = {},
  ) {
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.host = new URL(baseUrl).host;
  }

  private async send(url: string, accept: string, timed: boolean): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    try {
      return await this.fetch(url, {
        headers,
        redirect: 'follow',
        signal: timed ? AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) : undefined,
      });
    } catch (e) {
      throw unreachable(this.host, e);
    }
  }

  /** Fetch an anonymous token from the realm a 401 named. */
  private async authenticate(challengeHeader: string | null): Promise<void> {
    const { scheme, params } = parseChallenge(challengeHeader ?? '');
    if (scheme !== 'bearer' || !params.realm) {
      throw new UserError(
        `the registry ${this.host} wants ${scheme === 'basic' ? 'a user name and password' : 'credentials'} for ${this.repository}`,
        'ctr pull only does anonymous pulls: use a public image, or load it from a file',
      );
    }
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${this.repository}:pull`);
    let res: Response;
    try {
      res = await this.fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (e) {
      throw unreachable(url.host, e);
    }
    if (!res.ok) throw new UserError(`the token server ${url.host} refused an anonymous token (${res.status})`);
    const body = (await res.json()) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string') throw new UserError(`the token server ${url.host} sent no token`);
    this.token = token;
  }

  /** GET a registry path, authenticating once if asked to. Throws a UserError for any failure status. */
  private async get(path: string, accept: string, what: string, timed = true): Promise<Response> {
    const url = `${this.baseUrl}/v2/${this.repository}/${path}`;
    let res = await this.send(url, accept, timed);
    if (res.status === 401) {
      await res.body?.cancel();
      await this.authenticate(res.headers.get('www-authenticate'));
      res = await this.send(url, accept, timed);
    }
    if (res.ok) return res;
    await res.body?.cancel();
    if (res.status === 404)
      throw new UserError(`${what} was not found on ${this.host}`, 'check the image name and tag');
    if (res.status === 401 || res.status === 403) {
      throw new UserError(
        `${this.host} refused access to ${this.repository} (${res.status})`,
        'check the name: private images need a login, which ctr does not do',
      );
    }
    if (res.status === 429) {
      throw new UserError(
        `${this.host} says too many requests: Docker Hub limits anonymous pulls per address (a classroom shares one)`,
        'use the classroom mirror: SCRATCH_REGISTRY_MIRROR=http://MIRROR:5000 (see slides/INSTRUCTOR.md)',
      );
    }
    throw new UserError(`${this.host} answered ${res.status} ${res.statusText} for ${what}`);
  }

  /** A manifest or index by tag or digest, with all four manifest media types accepted. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const what = `${this.repository}:${reference.startsWith('sha256:') ? shortDigest(reference) : reference}`;
    const res = await this.get(`manifests/${reference}`, MANIFEST_ACCEPT, what);
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_MANIFEST_SIZE) {
      await res.body?.cancel();
      throw new UserError(`the manifest of ${what} is larger than ${MAX_MANIFEST_SIZE} bytes`);
    }
    const data = Buffer.from(await res.arrayBuffer());
    if (data.length > MAX_MANIFEST_SIZE)
      throw new UserError(`the manifest of ${what} is larger than ${MAX_MANIFEST_SIZE} bytes`);
    const digest = sha256(data);
    const claimed = res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest && claimed.startsWith('sha256:')) {
      throw new UserError(
        `the manifest of ${what} does not match the digest ${this.host} gave for it (damaged or tampered with)`,
      );
    }
    return { data, mediaType: res.headers.get('content-type') ?? undefined, digest };
  }

  /** A blob's bytes as a stream (the caller verifies its digest while reading). */
  async openBlob(digest: Digest): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.get(`blobs/${digest}`, '*/*', `blob ${shortDigest(digest)} of ${this.repository}`, false);
    if (!res.body) return (async function* () {})();
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }

  /** A small blob (a config) read whole and verified. */
  async readBlob(digest: Digest, limit = 8 << 20): Promise<Buffer> {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of await this.openBlob(digest)) {
      size += chunk.byteLength;
      if (size > limit) throw new UserError(`blob ${shortDigest(digest)} is larger than ${limit} bytes`);
      parts.push(Buffer.from(chunk));
    }
    return verifyBuffer(Buffer.concat(parts), digest, `blob ${shortDigest(digest)} from ${this.host}`);
  }
}
