/**
 * npm run rootfs [-- busybox|debian|debian-minbase] [--force] [--dir DIR]
 *
 * Builds a root filesystem for the lessons. `busybox` (the default) is built offline in a second or two from
 * Debian's busybox-static, with lesson 11's attack kit (dist/breakout, compiled by gcc); `debian` and
 * `debian-minbase` run debootstrap (need Debian's mirror, take minutes).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { main } from '../lib/cli/main.ts';
import { UserError } from '../lib/errors.ts';
import { ROOTFS_ROOT } from '../lib/names.ts';
import { requireRoot } from '../lib/preflight.ts';
import { buildBusyboxRootfs } from './busybox.ts';
import { buildDebianRootfs } from './debian.ts';
import { describeBreakoutBuild } from './breakout.ts';

const USAGE = `npm run rootfs [-- busybox|debian|debian-minbase] [--force] [--dir DIR]
  Builds a root filesystem for the lessons under /var/lib/scratch/rootfs (busybox, the default, in seconds offline;
  debian and debian-minbase with debootstrap from Debian's mirror, in minutes). --force rebuilds it.`;

await main(
  async () => {
    const { values, positionals } = parseArgs({
      options: { force: { type: 'boolean', default: false }, dir: { type: 'string' } },
      allowPositionals: true,
    });
    const kind = positionals[0] ?? 'busybox';
    if (kind !== 'busybox' && kind !== 'debian' && kind !== 'debian-minbase') {
      throw new UserError(
        `unknown rootfs "${kind}": choose busybox (default), debian or debian-minbase`,
        'npm run rootfs -- busybox',
      );
    }
    requireRoot('building a rootfs (it creates device nodes and writes under /var/lib/scratch)');
    const dir = path.resolve(values.dir ?? path.join(ROOTFS_ROOT, kind));
    if (kind === 'debian' || kind === 'debian-minbase') {
      const r = await buildDebianRootfs({ dir, force: values.force, include: kind === 'debian' ? undefined : [] });
      console.log(
        r.built ? `✔ ${kind} rootfs built in ${dir}` : `✔ ${kind} rootfs already in ${dir} (--force rebuilds)`,
      );
      console.log(`  use it with: npm run lesson 04 -- --rootfs ${dir}`);
      return;
    }
    const r = await buildBusyboxRootfs({ dir, force: values.force, progress: process.stdout.isTTY });
    console.log(
      r.built
        ? `✔ busybox rootfs built in ${dir} (${r.applets} commands, ${r.ms} ms)`
        : `✔ busybox rootfs already up to date in ${dir} (${r.ms} ms; --force rebuilds)`,
    );
    console.log(await describeBreakoutBuild(values.force));
  },
  { usage: USAGE },
);
