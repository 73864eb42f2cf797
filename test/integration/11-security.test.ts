/**
 * Lesson 11, run for real: from inside each hardened container the attack fails, what should still work still
 * works, and the host reads the difference in /proc/<pid>/status and mountinfo (the lesson keeps what it read).
 * Then, apart from the lesson: a fully hardened container doing ordinary work, an exec'd process seen from the
 * host next to PID 1, and the exercise graded — a wrong capability list fails the lesson's own check.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import lesson from '../../lessons/11-security.ts';
import { initBundle } from '../../lib/bundle.ts';
import {
  allCapabilities,
  capabilitiesToHex,
  capabilityNumbersFromHex,
  DOCKER_DEFAULT_CAPABILITIES,
  readCapLastCap,
} from '../../lib/capabilities.ts';
import { createCgroup, devicesListLines, DOCKER_DEVICE_RULES, foldDeviceRules } from '../../lib/cgroups/index.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { execInContainer } from '../../lib/container/exec.ts';
import { createOverlayRoot, overlayPaths } from '../../lib/container/root.ts';
import { runContainer, startContainer } from '../../lib/container/start.ts';
import {
  build,
  isolatedSpec,
  withNoNetwork,
  withOverlay,
  withReadOnlyRoot,
  withSecurity,
  withTmpfs,
} from '../../lib/kit.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { containerDir, DEFAULT_ROOTFS } from '../../lib/names.ts';
import { createRunner } from '../../lib/runner.ts';
import { hostSeccompArch } from '../../lib/seccomp/index.ts';
import { readPrivileges } from '../../lib/security/breakout.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, testId } from '../helpers/lesson.ts';

type Run = Awaited<ReturnType<typeof runLessonForTest<ReturnType<typeof lesson.initialState>>>>;
const DOCKER_14 = capabilitiesToHex(DOCKER_DEFAULT_CAPABILITIES);
const NONE = '0000000000000000';
const STAGES = ['o', 'c', 'd', 'v', 'n', 'm', 'r', 's', 'l', 'k', 'j'];

/** The fully hardened container of the lesson's last steps, as `ctr run` makes it from docker's flags. */
function hardenedSpec(id: string, args: string[]) {
  const o = overlayPaths(id, [DEFAULT_ROOTFS]);
  return build(
    isolatedSpec({ id, rootfs: o.root, args }),
    withNoNetwork,
    withOverlay(o.root, o.rootfs),
    withSecurity({ noNewPrivileges: true }),
    withReadOnlyRoot,
    withTmpfs(['/tmp']),
  );
}

describe.skipIf(!canRunIntegration)('lesson 11: security, run for real', () => {
  let r: Run;
  beforeAll(async () => {
    r = await runLessonForTest(lesson);
  }, 180_000);

  it('every check passes, every command it ran was shown, and it leaves nothing behind', async () => {
    expect(
      r.checks.filter((c) => !c.ok),
      r.output.slice(-4000),
    ).toEqual([]);
    expect(r.unshown).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
    for (const s of STAGES) expect(fs.existsSync(containerDir(`${r.id}${s}`)), s).toBe(false);
  });

  it('the chroot escape reads the host’s secret out of a plain and an unshare -m chroot, not out of pivot_root', () => {
    const { chroot, secret } = r.state;
    expect(secret).toMatch(/^host-only /);
    expect(chroot?.plain.text).toContain(`: ${secret}`);
    expect(chroot?.unshared.text).toContain(`: ${secret}`);
    // Where the climb ended: the host's / (it has the project's own checkout root), or the container's /.
    expect(chroot?.plain.text).toMatch(/^ls \/:.* (proc|sys) /m);
    expect(chroot?.pivot.text).not.toContain(secret);
    expect(chroot?.pivot.answers['chroot(".")']).toBe('ok');
    expect(chroot?.pivot.text).toMatch(/^cat \/run\/scratch\/\S+\/secret\s+ENOENT$/m);
    expect(chroot?.pivot.text).toContain('linuxrc'); // busybox's own file: the container's root
  });

  it('without CAP_SYS_CHROOT the escape fails outright, at its first chroot(2)', () => {
    const { changed, privileges } = r.state;
    expect(changed?.chroot.answers['chroot("scr-jail")']).toBe('EPERM');
    expect(changed?.chroot.answers['chroot(".")']).toBeUndefined();
    const bits = capabilityNumbersFromHex(privileges.changed?.CapBnd ?? '0');
    expect(bits).not.toContain(18); // CAP_SYS_CHROOT
    expect(bits).not.toContain(27); // CAP_MKNOD
    expect(bits).toContain(21); // CAP_SYS_ADMIN, added
  });

  it("docker's 14 in PID 1's bounding, permitted and effective sets, read by the host; inheritable and ambient empty", () => {
    const { caps, open } = r.state.privileges;
    expect(caps).toMatchObject({ CapBnd: DOCKER_14, CapPrm: DOCKER_14, CapEff: DOCKER_14, CapInh: NONE, CapAmb: NONE });
    // Unhardened, PID 1 had whatever the host's root has (here: every capability this kernel knows, or all but one).
    expect(open?.CapBnd).toBe(readPrivileges(process.pid).CapBnd);
    expect(capabilityNumbersFromHex(open?.CapBnd ?? '0').length).toBeGreaterThan(30);
  });

  it('with them, mount and setting the clock are refused, a module cannot be loaded; chown and mknod still work', () => {
    const { open, caps } = r.state.caps ?? {};
    expect(open?.answers['mount(tmpfs, /mnt)']).toBe('ok');
    expect(caps?.answers['mount(tmpfs, /mnt)']).toBe('EPERM');
    expect(open?.answers['settimeofday(NULL,NULL)']).toBe('ok');
    expect(caps?.answers['settimeofday(NULL,NULL)']).toBe('EPERM');
    // ENOSYS on a kernel built without modules; ENOEXEC (the empty module, looked at) where it has them.
    expect(['EPERM', 'ENOSYS']).toContain(caps?.answers['init_module(empty)']);
    expect(['ENOEXEC', 'ENOSYS']).toContain(open?.answers['init_module(empty)']);
    expect(caps?.answers['chown(file, 65534)']).toBe('ok');
    expect(Object.entries(caps?.answers ?? {}).find(([k]) => k.startsWith('mknod'))?.[1]).toBe('ok');
  });

  it('--cap-drop MKNOD takes mknod away and --cap-add SYS_ADMIN gives mount back', () => {
    const a = r.state.changed?.caps.answers ?? {};
    expect(Object.entries(a).find(([k]) => k.startsWith('mknod'))?.[1]).toBe('EPERM');
    expect(a['mount(tmpfs, /mnt)']).toBe('ok');
    expect(a['chown(file, 65534)']).toBe('ok');
  });

  it('the device cgroup: a disk node is made in both containers, opened only where no rules stand (EPERM)', () => {
    const d = r.state.devices;
    const mknod = (a?: { answers: Record<string, string> }) =>
      Object.entries(a?.answers ?? {}).find(([k]) => k.startsWith('mknod'))?.[1];
    expect(mknod(d?.caps)).toBe('ok');
    expect(mknod(d?.devices)).toBe('ok');
    expect(d?.caps.answers['open(disk)']).toBeDefined();
    expect(d?.caps.answers['open(disk)']).not.toBe('EPERM');
    expect(d?.devices.answers['open(disk)']).toBe('EPERM');
    expect(d?.devices.answers['read(disk)']).toBeUndefined();
    expect(d?.devices.answers['write(/dev/null)']).toBe('ok');
    // Read back from the kernel by the host: devices.list on v1, the attached program's instructions on v2.
    expect(d?.rules?.lines).toEqual(devicesListLines(foldDeviceRules(DOCKER_DEVICE_RULES)));
    expect(d?.rules?.source).toContain(`/scratch/${r.id}v`);
  });

  it('no_new_privs: the setuid-root program run by uid 65534 gains root and capabilities only without it', () => {
    const { nnp, privileges } = r.state;
    expect(nnp?.caps.answers).toMatchObject({ uid: '65534', euid: '0', CapEff: DOCKER_14, NoNewPrivs: '0' });
    expect(nnp?.nnp.answers).toMatchObject({ uid: '65534', euid: '65534', CapEff: NONE, NoNewPrivs: '1' });
    expect(privileges.nnp?.NoNewPrivs).toBe('1');
    expect(privileges.caps?.NoNewPrivs).toBe('0');
  });

  it('masked and read-only paths: a /proc file reads empty, /sys/firmware is empty, /proc/sys refuses writes', () => {
    const { before, after, mounts } = r.state.paths ?? { mounts: [] as string[] };
    const read = Object.keys(after?.answers ?? {}).find((k) => k.startsWith('read /proc/')) ?? '';
    expect(before?.answers[read]).not.toBe('(empty)');
    expect(after?.answers[read]).toBe('(empty)');
    expect(after?.answers['ls /sys/firmware']).toBe('(empty)');
    expect(before?.answers['write /proc/sys/kernel/hostname']).toBe('ok');
    expect(after?.answers['write /proc/sys/kernel/hostname']).toBe('EROFS');
    // From the host, in the container's mountinfo: /dev/null over the file, /proc/sys read-only.
    expect(mounts).toContainEqual(expect.stringMatching(new RegExp(`^${read.slice(5)}\\s+/dev/null bound over it$`)));
    expect(mounts).toContainEqual(expect.stringMatching(/^\/proc\/sys\s+itself, read-only$/));
    expect(mounts).toContainEqual(expect.stringMatching(/^\/sys\/firmware\s+an empty tmpfs, read-only$/));
  });

  it('a read-only root refuses /etc and nothing reaches the upper layer; the tmpfs at /tmp takes the write', () => {
    const ro = r.state.readonly;
    expect(ro?.before.answers['create /etc/scr-written']).toBe('ok');
    expect(ro?.landedBefore).toBe(true);
    expect(ro?.after.answers['create /etc/scr-written']).toBe('EROFS');
    expect(ro?.landedAfter).toBe(false);
    expect(ro?.after.answers['create /tmp/scr-note']).toBe('ok');
    expect(ro?.root).toBe('overlay ro');
    expect(ro?.tmp).toBe('tmpfs rw');
  });

  it('seccomp: PID 1 has the filter (host), every call of docker’s list is EPERM, and some were allowed without it', () => {
    const { seccomp, privileges } = r.state;
    expect(privileges.filtered?.Seccomp).toBe('2');
    expect(privileges.readonly?.Seccomp ?? '0').toBe('0');
    const after = seccomp?.after.answers ?? {};
    expect(Object.keys(after).length).toBeGreaterThan(20);
    for (const [call, answer] of Object.entries(after)) expect(answer, call).toBe('EPERM');
    expect(seccomp?.before.answers['unshare(CLONE_NEWUSER)']).toBe('ok');
    expect(seccomp?.before.answers.keyctl).toBe('ok');
  });

  it.skipIf(hostSeccompArch() !== 'x86_64')('a 32-bit system call: answered without the filter, SIGSYS with it', () => {
    const { i386Before, i386After } = r.state.seccomp ?? {};
    if (i386Before?.signal === 'SIGSEGV') {
      // A kernel without IA32 emulation: int 0x80 faults before any filter runs, with or without one.
      expect(i386After?.signal).toBe('SIGSEGV');
      return;
    }
    expect(i386Before?.exitCode).toBe(0);
    expect(i386Before?.text).toMatch(/getpid on i386\): \d+ \(getpid\(\) says \d+\)/);
    expect(i386After?.signal).toBe('SIGSYS');
    expect(i386After?.exitCode).toBe(159);
  });

  it('an fd of the host’s / leaked into a plain chroot reads the secret; the init had it, its command has not', () => {
    const leak = r.state.leak;
    expect(leak?.plain.text).toMatch(/^open fds: 0 1 2 .*\b7\b/m);
    expect(leak?.plain.text).toContain(r.state.secret);
    expect(leak?.initFd7).toBe('/');
    expect(leak?.init.text).toMatch(/^open fds: 0 1 2$/m);
    expect(leak?.init.text).toMatch(/EBADF$/m);
  });

  it('exec: the same privileges as PID 1 through the init; plain nsenter keeps the host’s', () => {
    const exec = r.state.exec;
    const fields = (t = '') => t.split('\n').filter((l) => /^(Cap|NoNewPrivs|Seccomp)/.test(l));
    expect(fields(exec?.exec)).toEqual(fields(exec?.pid1));
    expect(fields(exec?.pid1)).toContain(`CapEff:\t${DOCKER_14}`);
    expect(fields(exec?.nsenter)).toContain('Seccomp:\t0');
    expect(exec?.execCaps.answers['mount(tmpfs, /mnt)']).toBe('EPERM');
    expect(exec?.nsenterCaps.answers['mount(tmpfs, /mnt)']).toBe('ok');
  });
});

describe.skipIf(!canRunIntegration)('a fully hardened container, apart from the lesson', () => {
  const id = testId('11');
  const cleanup = new CleanupStack();
  const runner = createRunner();
  /** withSecurity's device rules live in a cgroup the starter makes (ctr does it in createContainer). */
  const deviceCgroupOf = (spec: ReturnType<typeof hardenedSpec>) =>
    createCgroup(cleanup, spec.id, {}, { runner, controllers: [], devices: spec.linux.resources?.devices });
  afterAll(async () => {
    await cleanup.unwind();
    expect(await leftoversOf(id)).toEqual([]);
    expect(fs.existsSync(containerDir(`${id}a`))).toBe(false);
  });

  it('still does ordinary work: a shell, a pipe, a background job, /tmp, its files, its hostname, /dev', async () => {
    const cid = `${id}a`;
    const spec = hardenedSpec(cid, [
      'sh',
      '-c',
      'echo note > /tmp/n && cat /tmp/n; ls /etc | grep -c passwd; sleep 0 & wait; echo "job $?"; ' +
        'cat /proc/sys/kernel/hostname; id -u; head -c 3 /dev/urandom | wc -c; echo x > /dev/null && echo null',
    ]);
    createOverlayRoot(runner, cleanup, cid, [DEFAULT_ROOTFS]);
    const res = await runContainer(runner, cleanup, spec, {
      executor: 'ts',
      init: await initBundle(),
      procsFiles: deviceCgroupOf(spec).procsFiles,
    });
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n')).toEqual(['note', '1', 'job 0', `scr${cid}`, '0', '3', 'null']);
    expect(res.exitCode).toBe(0);
  });

  it('an exec’d process, seen by the host while it runs, has PID 1’s capability sets, no_new_privs and filter', async () => {
    const cid = `${id}b`;
    createOverlayRoot(runner, cleanup, cid, [DEFAULT_ROOTFS]);
    const spec = hardenedSpec(cid, ['sleep', '3600']);
    const init = await initBundle();
    const { procsFiles } = deviceCgroupOf(spec);
    const c = await startContainer(runner, cleanup, spec, { executor: 'ts', init, procsFiles });
    const pidNs = fs.readlinkSync(`/proc/${c.hostPid}/ns/pid`);
    const exec = execInContainer(runner, cleanup, spec, c.hostPid, ['sleep', '3'], { init, procsFiles });
    // The exec'd sleep: another process in PID 1's PID namespace, running `sleep 3`.
    let found: number | undefined;
    for (let i = 0; i < 100 && found === undefined; i++) {
      await new Promise((res) => setTimeout(res, 30));
      found = fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p) && Number(p) !== c.hostPid)
        .map(Number)
        .find((p) => {
          try {
            return (
              fs.readlinkSync(`/proc/${p}/ns/pid`) === pidNs &&
              fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u00003\u0000'
            );
          } catch {
            return false;
          }
        });
    }
    expect(found).toBeDefined();
    const theirs = readPrivileges(found ?? 0);
    expect(theirs).toEqual(readPrivileges(c.hostPid));
    expect(theirs).toMatchObject({ CapBnd: DOCKER_14, CapEff: DOCKER_14, NoNewPrivs: '1', Seccomp: '2' });
    expect((await exec).exitCode).toBe(0);
    await c.stop();
  });
});

describe.skipIf(!canRunIntegration)('the exercise is graded by the lesson’s own checks', () => {
  it('a capability list that keeps everything fails the "docker’s 14" check, and still leaves nothing', async () => {
    const all = allCapabilities(readCapLastCap());
    const keepEverything = () => ({ bounding: all, effective: all, inheritable: [], permitted: all, ambient: [] });
    // The host's root may lack some (a sandbox): ask only for what it has, so the containers still start.
    const own = new Set(capabilityNumbersFromHex(readPrivileges(process.pid).CapBnd ?? '0'));
    const have = all.filter((_, n) => own.has(n));
    const r = await runLessonForTest(lesson, {
      impl: { ociCapabilities: () => ({ ...keepEverything(), bounding: have, effective: have, permitted: have }) },
    });
    const failed = r.checks.filter((c) => !c.ok).map((c) => c.claim);
    expect(failed).toContainEqual(expect.stringMatching(/^docker’s 14 in the bounding/));
    expect(r.unshown).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
  }, 180_000);
});
