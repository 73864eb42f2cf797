/**
 * A classroom registry mirror: Debian's `docker-registry` as a pull-through cache of Docker Hub.
 *
 * Docker Hub allows an address a few anonymous pulls an hour, and a classroom shares one address. A registry in
 * *proxy* mode answers pulls from its own storage and fetches from its upstream only what it has not seen, so
 * the room pulls each image from Docker Hub once. The instructor runs it on their machine:
 *
 *     docker-registry serve mirror.yml        (the config below, written by mirrorConfig)
 *
 * and learners point `ctr pull` at it: `SCRATCH_REGISTRY_MIRROR=http://<instructor-ip>:5000` or `--mirror`.
 * It speaks plain HTTP: fine on a classroom network for public images, which is all it serves.
 */

export interface MirrorOptions {
  /** Address and port to listen on: `0.0.0.0:5000` for the room, `127.0.0.1:PORT` in tests. */
  listen: string;
  /** Where the cached blobs are kept. */
  storage: string;
  /** What it mirrors. */
  upstream?: string;
}

export const DOCKER_HUB_UPSTREAM = 'https://registry-1.docker.io';

function quoted(s: string): string {
  return JSON.stringify(s); // a YAML double-quoted scalar is a JSON string
}

/** The registry's YAML config: no auth, filesystem storage, proxy mode, a quiet log. */
export function mirrorConfig(opts: MirrorOptions): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${quoted(opts.storage)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${quoted(opts.listen)}`,
    'proxy:',
    `  remoteurl: ${quoted(opts.upstream ?? DOCKER_HUB_UPSTREAM)}`,
    '',
  ].join('\n');
}

/**
 * A registry that serves only what is pushed into it (lesson 07's, on 127.0.0.1): no auth, no proxy, no access
 * log. Pulling from it is pulling from any registry: the same HTTP API, the same digests.
 */
export function localRegistryConfig(opts: Omit<MirrorOptions, 'upstream'>): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${quoted(opts.storage)}`,
    'http:',
    `  addr: ${quoted(opts.listen)}`,
  ].join('\n');
}

/** The argv that runs it (for a lesson or `ctr` to show and run). */
export function mirrorArgv(configFile: string): string[] {
  return ['docker-registry', 'serve', configFile];
}
