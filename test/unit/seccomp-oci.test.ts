import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { compileSeccompProfile } from '../../lib/seccomp/compile.ts';
import {
  AUDIT_ARCH_X86_64,
  CLONE_NEWNS,
  CLONE_THREAD,
  CLONE_VM,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
} from '../../lib/seccomp/constants.ts';
import {
  ambiguousForLibseccomp,
  fromOciSeccomp,
  ociArches,
  parseSeccompOption,
  toOciSeccomp,
  type OciSeccomp,
} from '../../lib/seccomp/oci.ts';
import { ALLOW, defaultSeccompProfile, errnoAction, type SeccompProfile } from '../../lib/seccomp/profile.ts';
import { syscallNumber } from '../../lib/seccomp/syscalls.ts';
import { runSeccompProgram } from '../helpers/bpf.ts';

const EPERM_RET = (SECCOMP_RET_ERRNO | 1) >>> 0;

describe('the default profile as OCI linux.seccomp', () => {
  const oci = toOciSeccomp(defaultSeccompProfile(), ['x86_64']);

  it('is a default-allow profile for the named architecture, refusals with errnoRet', () => {
    expect(oci.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(oci.architectures).toEqual(['SCMP_ARCH_X86_64']);
    expect(oci.syscalls?.find((s) => s.names.includes('mount'))).toEqual({
      names: expect.arrayContaining(['mount', 'umount2', 'pivot_root']),
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 1,
    });
    expect(oci.syscalls?.find((s) => s.names.includes('clone3'))).toMatchObject({ errnoRet: 38 });
  });

  it('writes masked comparisons the way runc reads them: value is the mask, valueTwo the expected bits', () => {
    const clone = oci.syscalls?.filter((s) => s.names.includes('clone')) ?? [];
    expect(clone).toHaveLength(7);
    expect(clone[0]?.args).toEqual([{ index: 0, value: CLONE_NEWNS, valueTwo: CLONE_NEWNS, op: 'SCMP_CMP_MASKED_EQ' }]);
    const socket = oci.syscalls?.filter((s) => s.names.includes('socket')) ?? [];
    expect(socket.map((s) => s.args)).toEqual([
      [{ index: 0, value: 0xffffffff, valueTwo: 40, op: 'SCMP_CMP_MASKED_EQ' }],
      [{ index: 0, value: 0xffffffff, valueTwo: 38, op: 'SCMP_CMP_MASKED_EQ' }],
    ]);
  });

  it('survives JSON and comes back as the very same filter, on both architectures', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const back = fromOciSeccomp(JSON.parse(JSON.stringify(toOciSeccomp(defaultSeccompProfile(), [arch]))));
      expect(compileSeccompProfile(back, arch)).toEqual(compileSeccompProfile(defaultSeccompProfile(), arch));
    }
  });

  it('has one action per system call, so libseccomp cannot read it in another order', () => {
    expect(ambiguousForLibseccomp(defaultSeccompProfile())).toEqual([]);
  });
});

describe('a profile that runc could read differently', () => {
  it('is not exported', () => {
    const profile: SeccompProfile = {
      defaultAction: errnoAction(1),
      rules: [
        { names: ['personality'], action: ALLOW, args: [{ index: 0, op: 'eq', value: 0n }] },
        { names: ['personality'], action: errnoAction(22) },
      ],
    };
    expect(ambiguousForLibseccomp(profile)).toEqual(['personality']);
    expect(() => toOciSeccomp(profile, ['x86_64'])).toThrow(/mix actions/);
  });
});

describe('an OCI profile written the docker way (allow list, default ERRNO)', () => {
  const oci: OciSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write', 'exit_group', 'chown32'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ],
  };
  const program = compileSeccompProfile(fromOciSeccomp(oci), 'x86_64');
  const run = (name: string, args: number[] = []) =>
    runSeccompProgram(program, {
      nr: syscallNumber('x86_64', name) ?? -1,
      arch: AUDIT_ARCH_X86_64,
      args: args.map(BigInt),
    });

  it('allows what it lists and refuses the rest with its default errno', () => {
    expect(run('read')).toBe(SECCOMP_RET_ALLOW);
    expect(run('mount')).toBe(EPERM_RET);
    expect(run('clone3')).toBe((SECCOMP_RET_ERRNO | 38) >>> 0);
  });

  it('applies masked and equal comparisons', () => {
    expect(run('clone', [CLONE_VM | CLONE_THREAD])).toBe(SECCOMP_RET_ALLOW);
    expect(run('clone', [CLONE_NEWNS])).toBe(EPERM_RET);
    expect(run('personality', [8])).toBe(SECCOMP_RET_ALLOW);
    expect(run('personality', [0x0040000])).toBe(EPERM_RET);
  });

  it('names the architectures a filter can be built for', () => {
    expect(ociArches(oci)).toEqual(['x86_64']);
  });
});

describe('reading OCI entries', () => {
  it('gives ERRNO without errnoRet the errno EPERM, as the spec says', () => {
    const p = fromOciSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO' }],
    });
    expect(p.rules[0]?.action).toEqual({ type: 'errno', errno: 1 });
  });

  it('splits two tests of one argument into two rules (ORed), as runc does', () => {
    const p = fromOciSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['socket'],
          action: 'SCMP_ACT_ERRNO',
          args: [
            { index: 0, value: 38, op: 'SCMP_CMP_EQ' },
            { index: 0, value: 40, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    });
    expect(p.rules).toHaveLength(2);
    const program = compileSeccompProfile(p, 'x86_64');
    const run = (family: number) =>
      runSeccompProgram(program, { nr: 41, arch: AUDIT_ARCH_X86_64, args: [BigInt(family)] });
    expect([run(38), run(39), run(40)]).toEqual([EPERM_RET, SECCOMP_RET_ALLOW, EPERM_RET]);
  });

  it("refuses docker's source format, actions that need a helper process, and unknown operators", () => {
    const docker = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: {} }],
    };
    expect(() => fromOciSeccomp(docker as OciSeccomp)).toThrow(/includes\/excludes/);
    expect(() => fromOciSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY' })).toThrow(UserError);
    const badOp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_BETWEEN' }] }],
    };
    expect(() => fromOciSeccomp(badOp as unknown as OciSeccomp)).toThrow(/unknown seccomp comparison/);
  });
});

describe('--security-opt seccomp=…', () => {
  it('is the default profile when absent or builtin, no filter when unconfined, else a profile file', () => {
    expect(parseSeccompOption(undefined)).toEqual({ kind: 'default' });
    expect(parseSeccompOption('builtin')).toEqual({ kind: 'default' });
    expect(parseSeccompOption('unconfined')).toEqual({ kind: 'unconfined' });
    expect(parseSeccompOption('/etc/profile.json')).toEqual({ kind: 'file', path: '/etc/profile.json' });
    expect(() => parseSeccompOption('')).toThrow(UserError);
  });
});
