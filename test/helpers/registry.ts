/**
 * A real registry server for the pull tests: Debian's `docker-registry` (the CNCF distribution registry), on
 * 127.0.0.1 and a free port, without auth, with its storage in the test's temporary directory — optionally as
 * a pull-through cache of another one. Each test stops the servers it started, by their PID, and nothing else.
 * Images are pushed into it with `skopeo`, the standard tool, never with the code under test.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { mirrorConfig } from '../../lib/image/mirror.ts';
import { isLoopbackRegistry } from '../../lib/image/reference.ts';
import type { Fetch } from '../../lib/image/registry.ts';

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the registry tests cannot run here, if they cannot. In CI that is an error, not a skip. */
export function registrySkipReason(): string | undefined {
  const missing = ['docker-registry', 'skopeo'].filter((t) => !onPath(t));
  if (missing.length === 0) return undefined;
  const reason = `${missing.join(' and ')} not installed (apt-get install docker-registry skopeo)`;
  if (process.env.CI === 'true') throw new Error(`registry tests cannot run in CI: ${reason}`);
  return reason;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, for image names. */
  host: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on ${url}: ${log()}`);
}

export async function startRegistry(dir: string, opts: { proxyOf?: string } = {}): Promise<TestRegistry> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  // A mirror runs with exactly the config an instructor's classroom mirror gets.
  const config = opts.proxyOf
    ? mirrorConfig({ listen: `127.0.0.1:${port}`, storage: path.join(dir, 'data'), upstream: opts.proxyOf })
    : [
        'version: 0.1',
        'log:',
        '  level: error',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${path.join(dir, 'data')}`,
        'http:',
        `  addr: 127.0.0.1:${port}`,
      ].join('\n');
  fs.writeFileSync(path.join(dir, 'config.yml'), `${config}\n`);
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = `${stderr}${d.toString()}`.slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilUp(url, child, () => stderr);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, host: `127.0.0.1:${port}`, dir, pid: child.pid ?? 0, stop };
}

/** Push an OCI layout (directory) into a registry with skopeo. `all` pushes every platform of an index. */
export function skopeoPush(layoutDir: string, tag: string, target: string, opts: { all?: boolean } = {}): void {
  execFileSync(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      ...(opts.all ? ['--all'] : []),
      '--dest-tls-verify=false',
      `oci:${layoutDir}:${tag}`,
      `docker://${target}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/**
 * A fetch that refuses any address not on this machine (so a test proves nothing reaches the internet) and
 * records every URL it was asked for.
 */
export function loopbackFetch(): { fetch: Fetch; urls: string[] } {
  const urls: string[] = [];
  const guarded: Fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    urls.push(url.href);
    if (!isLoopbackRegistry(url.host)) throw new Error(`test tried to reach ${url.host}, which is not this machine`);
    return fetch(input, init);
  };
  return { fetch: guarded, urls };
}
