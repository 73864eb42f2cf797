/**
 * A child process for security.test.ts: it installs the real seccomp filter (or the capability sets) on itself
 * through koffi, as the container's init does, then tries things and reports what the kernel answered as one
 * line of JSON. Run as `node --import tsx security-probe.ts MODE [DIR]`, as root, inside
 * `unshare --mount --uts` so that nothing it tries could reach the host even if the filter failed.
 *
 * Modes:
 * - seccomp:   filter on, then mount(2) of a tmpfs on DIR, unshare(CLONE_NEWUTS), socket(AF_ALG) with junk in
 *              the upper half of the register, clone3(2), getpid(2); report each result and errno, and
 *              /proc/self/status.
 * - control:   the same calls without the filter, to show that the refusals above are the filter's doing.
 * - exec-sh:   filter on, then execve /bin/sh -c '/bin/true && grep … /proc/self/status'.
 * - exec-node: filter on, then execve node, which starts its threads (clone3 → ENOSYS → clone) and a Worker.
 * - caps:      bounding set dropped to docker's 14, capset, ambient cleared; report /proc/self/status.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import {
  PR_CAPBSET_DROP,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  boundingSetDrops,
  encodeCapset,
  ociCapabilities,
  readCapLastCap,
} from '../../lib/capabilities.ts';
import {
  AF_ALG,
  CLONE_NEWUTS,
  PR_SET_NO_NEW_PRIVS,
  SECCOMP_SET_MODE_FILTER,
  buildSeccompProgram,
  defaultSeccompProfile,
  hostSeccompArch,
  syscallNumber,
} from '../../lib/seccomp/index.ts';

const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int option, ...)');
const syscall = libc.func('long syscall(long number, ...)');
const mount = libc.func('int mount(const char *src, const char *target, const char *fstype, unsigned long f, void *d)');
const unshare = libc.func('int unshare(int flags)');
const getpid = libc.func('int getpid()');
const fcntl = libc.func('int fcntl(int fd, int cmd, ...)');
const execve = libc.func('int execve(const char *path, const char **argv, const char **envp)');
const capset = libc.func('int capset(void *header, void *data)');
// Registered by name: seccomp(2) below takes a `sock_fprog *`.
koffi.struct('sock_fprog', { len: 'uint16_t', filter: 'void *' });

const F_SETFD = 2;
const SOCK_SEQPACKET = 5;
const arch = hostSeccompArch();

function nr(name: string): number {
  const n = syscallNumber(arch, name);
  if (n === undefined) throw new Error(`no ${name} on ${arch}`);
  return n;
}

/** A call's result: its return value, and errno when it failed. */
function outcome(ret: number | bigint): { ret: number; errno?: number } {
  const value = Number(ret);
  return value < 0 ? { ret: value, errno: koffi.errno() } : { ret: value };
}

function status(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

function installFilter(): void {
  if (prctl(PR_SET_NO_NEW_PRIVS, 'unsigned long', 1, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0)) {
    throw new Error(`prctl(PR_SET_NO_NEW_PRIVS) failed: errno ${koffi.errno()}`);
  }
  const program = buildSeccompProgram(defaultSeccompProfile(), arch);
  const fprog = { len: program.length / 8, filter: program };
  const ret = syscall(nr('seccomp'), 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', 0, 'sock_fprog *', fprog);
  if (Number(ret) !== 0) throw new Error(`seccomp(SECCOMP_SET_MODE_FILTER) failed: errno ${koffi.errno()}`);
}

/** Node leaves fds 0–2 close-on-exec; the exec'd program needs them. */
function execKeepingStdio(argv: string[]): never {
  for (const fd of [0, 1, 2]) fcntl(fd, F_SETFD, 'int', 0);
  execve(argv[0], [...argv, null], [`PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, null]);
  throw new Error(`execve ${argv[0]} failed: errno ${koffi.errno()}`);
}

function tryCalls(dir: string) {
  const results = {
    mount: outcome(mount('none', dir, 'tmpfs', 0, null)),
    unshareUts: outcome(unshare(CLONE_NEWUTS)),
    // The kernel reads socket()'s family as an int, so 0x1_00000026 is AF_ALG to it.
    socketAlgHighBits: outcome(
      syscall(nr('socket'), 'long', (1n << 32n) | BigInt(AF_ALG), 'long', SOCK_SEQPACKET, 'long', 0),
    ),
    clone3: outcome(syscall(nr('clone3'), 'void *', null, 'size_t', 0)),
    getpid: { ret: getpid(), pid: process.pid },
  };
  const s = status();
  return { ...results, status: { Seccomp: s.Seccomp, NoNewPrivs: s.NoNewPrivs } };
}

function probeCapabilities() {
  const lastCap = readCapLastCap();
  const caps = ociCapabilities();
  for (const cap of boundingSetDrops(caps.bounding, lastCap)) {
    if (prctl(PR_CAPBSET_DROP, 'unsigned long', cap, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0)) {
      throw new Error(`PR_CAPBSET_DROP ${cap} failed: errno ${koffi.errno()}`);
    }
  }
  const { header, data } = encodeCapset(caps);
  if (capset(header, data)) throw new Error(`capset failed: errno ${koffi.errno()}`);
  const clear = [PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0].flatMap((v) => ['unsigned long', v]);
  if (prctl(PR_CAP_AMBIENT, ...clear)) throw new Error(`PR_CAP_AMBIENT_CLEAR_ALL failed: errno ${koffi.errno()}`);
  const s = status();
  return { CapInh: s.CapInh, CapPrm: s.CapPrm, CapEff: s.CapEff, CapBnd: s.CapBnd, CapAmb: s.CapAmb };
}

const NODE_UNDER_FILTER = `
const { Worker } = require('node:worker_threads');
const w = new Worker('require("node:worker_threads").parentPort.postMessage(1)', { eval: true });
w.on('message', () => {
  const s = require('node:fs').readFileSync('/proc/self/status', 'utf8');
  const get = (k) => new RegExp('^' + k + ':\\\\s*(.*)$', 'm').exec(s)[1];
  console.log(JSON.stringify({ worker: true, Seccomp: get('Seccomp'), Threads: Number(get('Threads')) }));
  process.exit(0);
});
`;

const [mode, dir = ''] = process.argv.slice(2);
if (mode === 'seccomp') {
  installFilter();
  console.log(JSON.stringify(tryCalls(dir)));
} else if (mode === 'control') {
  console.log(JSON.stringify(tryCalls(dir)));
} else if (mode === 'caps') {
  console.log(JSON.stringify(probeCapabilities()));
} else if (mode === 'exec-sh') {
  installFilter();
  execKeepingStdio(['/bin/sh', '-c', '/bin/true && grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status']);
} else if (mode === 'exec-node') {
  installFilter();
  execKeepingStdio([process.execPath, '-e', NODE_UNDER_FILTER]);
} else {
  throw new Error(`unknown mode ${mode}`);
}
