/**
 * runc is the oracle: a container ctr ran, exported as an OCI bundle and run by runc (Debian's), reports the same
 * capability sets, no_new_privs, seccomp mode, hostname, user, mounts, masked and read-only paths and /dev as it
 * did under ctr — field by field.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { performHostOp } from '../../lib/hostops.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { cgroupParentRemovals } from '../../lib/oci-bundle.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';

const CTR = path.resolve(import.meta.dirname, '../../bin/ctr.mjs');
const hasRunc = (() => {
  try {
    return fs.statSync('/usr/sbin/runc').isFile() || fs.statSync('/usr/bin/runc').isFile();
  } catch {
    return false;
  }
})();
if (canRunIntegration && !hasRunc && process.env.CI === 'true')
  throw new Error('CI must install runc (apt-get install runc)');

/** What the probe prints, one fact per line, each comparable as it is. */
const PROBE = [
  'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status',
  'echo "hostname $(hostname)"; echo "uid $(id -u) gid $(id -g)"',
  // Mount points and types, the root's type aside (an overlay under ctr, the bundle's directory under runc).
  'cut -d" " -f2,3 /proc/self/mounts | grep -v "^/ " | sort | sed "s/^/mount /"',
  'for p in /proc/keys /proc/timer_list /proc/acpi /sys/firmware /proc/kcore; do [ -e $p ] && echo "masked $p $(head -c 64 $p 2>/dev/null | wc -c)"; done',
  'echo x 2>/dev/null > /proc/sys/kernel/domainname && echo "proc/sys writable" || echo "proc/sys read-only"',
  'echo "dev $(ls /dev | tr "\\n" " ")"',
].join('; ');

describe.skipIf(!canRunIntegration || !hasRunc)('ctr export-bundle, run by runc', () => {
  it('runc runs the exported bundle, and the container it makes matches ctr’s field by field', async () => {
    const id = crypto.randomBytes(5).toString('hex');
    const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-bundle-'));
    fs.rmdirSync(bundle);
    const ctr = (args: string[]) =>
      execa(process.execPath, [CTR, ...args], { reject: false, env: { SCRATCH_RUN_ID: id } });
    try {
      const mine = await ctr([
        'run',
        '--name',
        `scrb${id.slice(0, 4)}`,
        '--network',
        'none',
        '--hostname',
        'probe',
        '--security-opt',
        'no-new-privileges',
        '--user',
        '1000:1000',
        DEFAULT_ROOTFS,
        'sh',
        '-c',
        PROBE,
      ]);
      expect(mine.exitCode, mine.stderr).toBe(0);
      const exported = await ctr(['export-bundle', id, bundle]);
      expect(exported.exitCode, exported.stderr).toBe(0);
      const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      expect(config.process.capabilities.bounding).toHaveLength(14);
      const theirs = await execa('runc', ['run', '--bundle', bundle, `${id}b`], { reject: false });
      expect(theirs.exitCode, theirs.stderr).toBe(0);
      const facts = (out: string) => out.split('\n').filter(Boolean);
      expect(facts(theirs.stdout)).toEqual(facts(mine.stdout));
      expect(mine.stdout).toContain('CapBnd:\t00000000a80425fb');
      expect(mine.stdout).toContain('NoNewPrivs:\t1');
      expect(mine.stdout).toContain('Seccomp:\t2');
      expect(mine.stdout).toContain('proc/sys read-only');
    } finally {
      await ctr(['rm', '-f', id]);
      await execa('runc', ['delete', '-f', `${id}b`], { reject: false });
      for (const op of cgroupParentRemovals()) performHostOp(op);
      fs.rmSync(bundle, { recursive: true, force: true });
    }
    expect(await leftoversOf(id)).toEqual([]);
  });
});
