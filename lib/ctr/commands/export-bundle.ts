/**
 * ctr export-bundle — write a container (or a rootfs run as one) as an OCI bundle that runc can run.
 * (lib/oci-bundle.ts says what a bundle is and what it cannot carry.)
 */
import path from 'node:path';
import { lookup } from '../../container/lifecycle.ts';
import { UserError } from '../../errors.ts';
import { exportBundle } from '../../oci-bundle.ts';
import type { Command } from '../command.ts';

export const exportBundleCommand: Command = {
  name: 'export-bundle',
  usage: 'ctr export-bundle CONTAINER DIR',
  summary: 'Write a container as an OCI bundle (config.json + rootfs/) for runc',
  interspersed: true,
  flags: [],
  async run(ctx, { rest }) {
    const [ref, dir] = rest;
    if (!ref || !dir)
      throw new UserError(
        'ctr export-bundle needs a container and a directory',
        'ctr export-bundle web /tmp/web-bundle',
      );
    const state = lookup(ref);
    const rootfs = state.spec.rootfs;
    // The container's files as they are now: its read-only layers, bottom first, then its own changes.
    const layers =
      rootfs.type === 'overlay' ? [...rootfs.lower].reverse().concat(rootfs.upper) : [state.spec.root.path];
    const out = exportBundle(state.spec, layers, path.resolve(dir), `${state.id}b`);
    ctx.out(
      `${out.dir}: config.json and rootfs/ (${out.files} files) — run it with: runc run -b ${out.dir} ${state.id}b\n`,
    );
    return 0;
  },
};
