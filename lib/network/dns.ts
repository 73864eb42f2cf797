/**
 * Names inside the container: its /etc/hosts and /etc/resolv.conf.
 *
 * A program looks a name up in /etc/hosts first, then asks the DNS servers listed in /etc/resolv.conf. Neither
 * file in the root filesystem knows the container's address, and the host's own files may be wrong for it, so
 * each container gets its own two files, written on the host (in its state directory) and bind-mounted over the
 * rootfs's — exactly what docker does, which is why `mount` inside a docker container shows /etc/hosts.
 *
 * resolv.conf needs one decision. Most hosts today run a local stub resolver — systemd-resolved answers on
 * 127.0.0.53, and /etc/resolv.conf says `nameserver 127.0.0.53` — but 127.0.0.53 inside the container is the
 * container's own loopback, where nothing answers. So loopback servers are dropped; when that leaves none, the
 * servers resolved itself forwards to (listed in /run/systemd/resolve/resolv.conf: in a Vagrant VM, VirtualBox's
 * 10.0.2.3; in Lima, its host resolver) are used instead, reached through the masquerade like any other
 * traffic. If there are still none, docker's fallback is used (8.8.8.8, 8.8.4.4), and the file says so. IPv6
 * servers are dropped too: the container network here is IPv4 only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HostOp } from '../hostops.ts';
import type { Mount } from '../mounts.ts';

export const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's list of the servers it really asks (its "upstream"), next to the stub's 127.0.0.53. */
export const UPSTREAM_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';
/** What docker uses when the host offers no server a container can reach. */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

export function hostsFile(hostname: string, address: string): string {
  return ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${address}\t${hostname}`, ''].join(
    '\n',
  );
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const line of text.split('\n')) {
    const [key, ...values] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && values[0]) out.nameservers.push(values[0]);
    if (key === 'search' || key === 'domain') out.search = values;
    if (key === 'options') out.options.push(...values);
  }
  return out;
}

/** A server the container can reach through the bridge: IPv4, and not the host's loopback. */
export function reachableFromContainer(server: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(server) && !server.startsWith('127.');
}

export interface ResolverChoice {
  content: string;
  /** Where the servers came from, for the learner. */
  source: string;
}

/** The container's resolv.conf, from the host's /etc/resolv.conf and (when that is a stub) resolved's upstream. */
export function containerResolvConf(etcResolvConf: string, upstreamResolvConf?: string): ResolverChoice {
  const candidates: Array<[string, string | undefined]> = [
    [HOST_RESOLV_CONF, etcResolvConf],
    [UPSTREAM_RESOLV_CONF, upstreamResolvConf],
  ];
  for (const [source, text] of candidates) {
    if (text === undefined) continue;
    const parsed = parseResolvConf(text);
    const servers = parsed.nameservers.filter(reachableFromContainer);
    if (servers.length === 0) continue;
    return { content: render({ ...parsed, nameservers: servers }, `servers from the host's ${source}`), source };
  }
  return {
    content: render(
      { nameservers: FALLBACK_NAMESERVERS, search: [], options: [] },
      'the host lists no server a container can reach (only loopback ones): public DNS, as docker does',
    ),
    source: 'fallback',
  };
}

function render(r: ResolvConf, why: string): string {
  return [
    `# containers-from-scratch: ${why}`,
    ...r.nameservers.map((s) => `nameserver ${s}`),
    ...(r.search.length ? [`search ${r.search.join(' ')}`] : []),
    ...(r.options.length ? [`options ${r.options.join(' ')}`] : []),
    '',
  ].join('\n');
}

function readIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The resolv.conf a container on this host should get. */
export function hostResolver(): ResolverChoice {
  return containerResolvConf(readIfThere(HOST_RESOLV_CONF) ?? '', readIfThere(UPSTREAM_RESOLV_CONF));
}

/** A per-container file bind-mounted over the rootfs's own, read-only (the network owns it, not the container). */
export function fileMount(destination: string, source: string): Mount {
  return { destination, type: 'bind', source, options: ['bind', 'ro'] };
}

/**
 * The two files for a container, in a directory of its own (`dir`), as host effects to perform (a lesson shows
 * them), and the mounts that put them in place.
 */
export function nameFiles(
  dir: string,
  hostname: string,
  address: string,
  resolver: ResolverChoice,
): { writes: Array<Extract<HostOp, { kind: 'write' }>>; mounts: Mount[] } {
  const hosts = path.join(dir, 'hosts');
  const resolv = path.join(dir, 'resolv.conf');
  return {
    writes: [
      { kind: 'write', path: hosts, value: hostsFile(hostname, address) },
      { kind: 'write', path: resolv, value: resolver.content },
    ],
    mounts: [fileMount('/etc/hosts', hosts), fileMount('/etc/resolv.conf', resolv)],
  };
}

/**
 * Write hosts and resolv.conf into the container's state directory and return the mounts that put them in
 * place. (They go when the state directory goes.)
 */
export function writeNameFiles(stateDir: string, hostname: string, address: string, resolver: ResolverChoice): Mount[] {
  const files = nameFiles(stateDir, hostname, address, resolver);
  for (const w of files.writes) fs.writeFileSync(w.path, w.value);
  return files.mounts;
}
