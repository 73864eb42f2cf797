/**
 * npm run mirror — the classroom's Docker Hub mirror, in one command, on the instructor's machine.
 *
 * Docker Hub lets one address make a few anonymous pulls an hour, and a classroom shares one address. This runs
 * Debian's `docker-registry` as a pull-through cache (lib/image/mirror.ts writes its config): the first learner
 * to pull busybox makes it fetch busybox from Docker Hub once; everyone after gets it from the cache. It runs
 * in the foreground until Ctrl-C, and prints the line learners need:
 *
 *     export SCRATCH_REGISTRY_MIRROR=http://10.0.0.5:5000      (or: npm run ctr -- pull --mirror … busybox)
 *
 *   npm run mirror [-- --port 5000] [--storage DIR] [--upstream URL]   (default upstream: Docker Hub)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../errors.ts';
import { mirrorArgv, mirrorConfig } from '../image/mirror.ts';
import { findOnPath, toolPath } from '../runner.ts';
import { main } from './main.ts';

/** This machine's IPv4 addresses a learner's VM can reach (not loopback). */
export function classroomAddresses(ifaces = os.networkInterfaces()): string[] {
  return Object.values(ifaces)
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

const USAGE = `npm run mirror [-- --port 5000] [--storage DIR] [--upstream URL]
  A classroom registry mirror (Debian's docker-registry) so thirty laptops pull from the instructor's, not Docker Hub.`;

await main(
  async () => {
    const { values } = parseArgs({
      options: { port: { type: 'string', default: '5000' }, storage: { type: 'string' }, upstream: { type: 'string' } },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UserError(`--port ${values.port} is not a port number`, 'npm run mirror -- --port 5000');
    }
    if (!findOnPath('docker-registry', toolPath(process.env.PATH))) {
      throw new UserError(
        'the classroom mirror runs Debian’s docker-registry, which is not installed',
        'sudo apt-get install -y docker-registry',
      );
    }
    if (!(await portFree(port))) {
      throw new UserError(
        `port ${port} is taken (Debian's docker-registry package starts its own service there)`,
        `sudo systemctl disable --now docker-registry   (or npm run mirror -- --port ${port + 1})`,
      );
    }
    const storage = path.resolve(values.storage ?? path.join(os.homedir(), '.cache', 'scratch-mirror'));
    fs.mkdirSync(storage, { recursive: true });
    const config = path.join(storage, 'mirror.yml');
    fs.writeFileSync(
      config,
      mirrorConfig({ listen: `0.0.0.0:${port}`, storage: path.join(storage, 'data'), upstream: values.upstream }),
    );
    const urls = classroomAddresses().map((a) => `http://${a}:${port}`);
    const of = values.upstream ?? 'Docker Hub';
    console.log(`A mirror of ${of} on port ${port}, cache in ${storage} (Ctrl-C stops it; the cache stays).`);
    console.log('Learners, in their VM (one of these addresses, whichever their network reaches):');
    for (const u of urls.length > 0 ? urls : [`http://<this machine's address>:${port}`]) {
      console.log(`  export SCRATCH_REGISTRY_MIRROR=${u}`);
    }
    console.log(
      `then: npm run ctr -- pull busybox   (or, without the variable: npm run ctr -- pull --mirror URL busybox)`,
    );
    const [cmd = 'docker-registry', ...args] = mirrorArgv(config);
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, PATH: toolPath(process.env.PATH) },
    });
    // Its log goes on to the terminal; a Go panic (it asks Docker Hub for a token as it starts, and panics when
    // it cannot reach it) becomes one line with the fix instead of a stack trace.
    let panic: string | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      panic ??= /^panic: (.*)$/m.exec(text)?.[1];
      if (panic === undefined) process.stderr.write(text);
    });
    const stop = () => child.kill('SIGTERM');
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const code = await new Promise<number>((resolve) =>
      child.on('exit', (c, signal) => resolve(signal ? 0 : (c ?? 0))),
    );
    if (panic !== undefined) {
      throw new UserError(
        `the mirror stopped: ${panic}`,
        'it fetches from Docker Hub, and checks it can as it starts: run it where the internet is reachable',
      );
    }
    return code;
  },
  { usage: USAGE },
);
