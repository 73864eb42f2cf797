/**
 * The seccomp filter and the capability sets, installed for real in a child process (security-probe.ts), which
 * runs inside its own mount and UTS namespaces so that nothing it tries can touch the host.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftoversOf } from '../../lib/leftovers.ts';
import { createRunner, type RunResult } from '../../lib/runner.ts';
import { ENOSYS, EPERM } from '../../lib/seccomp/constants.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { testId } from '../helpers/lesson.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = fileURLToPath(new URL('./security-probe.ts', import.meta.url));

describe.skipIf(!canRunIntegration)('seccomp and capabilities, installed for real', () => {
  const id = testId('11');
  let dir = '';

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `scr${id}-`));
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    expect(await leftoversOf(id)).toEqual([]);
  });

  async function probe(mode: string): Promise<RunResult> {
    const argv = ['unshare', '--mount', '--uts', '--propagation', 'private', '--'];
    const result = await createRunner().run([...argv, process.execPath, '--import', 'tsx', PROBE, mode, dir], {
      cwd: ROOT,
      reject: false,
      timeoutMs: 30_000,
    });
    if (result.exitCode !== 0) throw new Error(`probe ${mode} failed (${result.exitCode}): ${result.stderr}`);
    return result;
  }
  interface CallOutcome {
    ret: number;
    errno?: number;
  }
  interface SeccompReport {
    mount: CallOutcome;
    unshareUts: CallOutcome;
    socketAlgHighBits: CallOutcome;
    clone3: CallOutcome;
    getpid: { ret: number; pid: number };
    status: { Seccomp: string; NoNewPrivs: string };
  }
  const report = async <T>(mode: string) => JSON.parse((await probe(mode)).stdout.trim()) as T;

  it('a filtered process gets EPERM from mount and unshare, ENOSYS from clone3, and still runs getpid', async () => {
    const r = await report<SeccompReport>('seccomp');
    expect(r.mount).toEqual({ ret: -1, errno: EPERM });
    expect(r.unshareUts).toEqual({ ret: -1, errno: EPERM });
    expect(r.clone3).toEqual({ ret: -1, errno: ENOSYS });
    expect(r.socketAlgHighBits).toEqual({ ret: -1, errno: EPERM });
    expect(r.getpid.ret).toBe(r.getpid.pid);
    expect(r.status).toEqual({ Seccomp: '2', NoNewPrivs: '1' });
  });

  it('without the filter the same root process may mount and unshare: the refusals are the filter’s', async () => {
    const r = await report<SeccompReport>('control');
    expect(r.mount).toEqual({ ret: 0 });
    expect(r.unshareUts).toEqual({ ret: 0 });
    expect(r.clone3.errno).not.toBe(ENOSYS);
    expect(r.socketAlgHighBits.errno).not.toBe(EPERM);
    expect(r.status).toEqual({ Seccomp: '0', NoNewPrivs: '0' });
  });

  it('a filtered process can exec a shell that runs /bin/true, and the filter goes with it', async () => {
    const r = await probe('exec-sh');
    expect(r.stdout.split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual(['NoNewPrivs: 1', 'Seccomp: 2']);
  });

  it('a filtered process can exec node, which starts its threads through the clone3 → clone fallback', async () => {
    const r = JSON.parse((await probe('exec-node')).stdout.trim()) as {
      worker: boolean;
      Seccomp: string;
      Threads: number;
    };
    expect(r.worker).toBe(true);
    expect(r.Seccomp).toBe('2');
    expect(r.Threads).toBeGreaterThan(1);
  });

  it("docker's 14 capabilities, set with prctl and capset, show as a80425fb in /proc/self/status", async () => {
    expect(await report<Record<string, string>>('caps')).toEqual({
      CapInh: '0000000000000000',
      CapPrm: '00000000a80425fb',
      CapEff: '00000000a80425fb',
      CapBnd: '00000000a80425fb',
      CapAmb: '0000000000000000',
    });
  });
});
