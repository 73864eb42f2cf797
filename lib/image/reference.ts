/**
 * Image references: what `busybox`, `alpine:3.20` and `ghcr.io/org/app@sha256:…` mean.
 *
 * A reference names a repository on a registry, then a tag (a movable name, `latest` when none is given) or a
 * digest (an exact manifest). Docker's shorthand fills in the rest: a name without a registry lives on Docker
 * Hub (`docker.io`, whose API host is `registry-1.docker.io`), and a one-part Docker Hub name is an official
 * image under `library/`. So `busybox` is `docker.io/library/busybox:latest`. The first part of a name is a
 * registry only if it looks like a host: it has a `.` or a `:` (a port), or is `localhost`.
 */
import { UserError } from '../errors.ts';
import { isDigest, type Digest } from './digest.ts';

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API = 'registry-1.docker.io';

export interface ImageReference {
  /** Registry host (and port): `docker.io`, `localhost:5000`, `ghcr.io`. */
  registry: string;
  /** Path on the registry: `library/busybox`. */
  repository: string;
  /** `latest` when neither a tag nor a digest was given; undefined when only a digest was. */
  tag: string | undefined;
  digest: Digest | undefined;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

function invalid(ref: string, why: string): UserError {
  return new UserError(
    `invalid image reference "${ref}": ${why}`,
    'write it as NAME[:TAG] or NAME@sha256:DIGEST, e.g. busybox:latest',
  );
}

export function parseReference(input: string): ImageReference {
  const ref = input.trim();
  if (ref === '') throw invalid(input, 'it is empty');
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(input, `"${d}" is not a sha256 digest`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!HOST.test(first)) throw invalid(input, `"${first}" is not a registry host`);
    registry = first === 'index.docker.io' ? DOCKER_HUB : first;
    parts.shift();
  }
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      throw invalid(input, p.toLowerCase() === p ? `"${p}" is not a valid name part` : 'names must be lowercase');
    }
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) throw invalid(input, 'the name is longer than 255 characters');
  return { registry, repository, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

/** `docker.io/library/busybox` */
export function repositoryName(r: ImageReference): string {
  return `${r.registry}/${r.repository}`;
}

/** The full form: `docker.io/library/busybox:latest`, `localhost:5000/app@sha256:…`. */
export function canonicalReference(r: ImageReference): string {
  const tag = r.tag !== undefined ? `:${r.tag}` : '';
  const digest = r.digest ? `@${r.digest}` : '';
  return `${repositoryName(r)}${tag}${digest}`;
}

/** The short form people type and docker prints: `busybox:latest`, `myuser/app:1`, `localhost:5000/app:1`. */
export function familiarName(r: ImageReference): string {
  let name = repositoryName(r);
  if (r.registry === DOCKER_HUB) {
    name = r.repository.startsWith('library/') ? r.repository.slice('library/'.length) : r.repository;
  }
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Whether a registry is this machine, which docker (and we) talk to over plain HTTP. */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/** The base URL of a registry's API: HTTPS, except on this machine; Docker Hub's API has its own host. */
export function registryBaseUrl(registry: string): string {
  const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
  return `${isLoopbackRegistry(host) ? 'http' : 'https'}://${host}`;
}
