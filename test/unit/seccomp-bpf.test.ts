import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import {
  BPF_JMP_JA,
  assemble,
  decodeProgram,
  encodeProgram,
  jeq,
  label,
  ld,
  ret,
  to,
  type AsmItem,
} from '../../lib/seccomp/bpf.ts';
import { actionValue, buildSeccompProgram, compileSeccompProfile } from '../../lib/seccomp/compile.ts';
import {
  AUDIT_ARCH_X86_64,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
} from '../../lib/seccomp/constants.ts';
import { describeAction, describeProgram } from '../../lib/seccomp/describe.ts';
import { ALLOW, errnoAction, type ArgCondition, type ArgOp, type SeccompProfile } from '../../lib/seccomp/profile.ts';
import { checkSeccompProgram, runSeccompProgram } from '../helpers/bpf.ts';

const MOUNT = 165; // x86_64
const EPERM_RET = (SECCOMP_RET_ERRNO | 1) >>> 0;

describe('the BPF assembler', () => {
  it('encodes sock_filter as 8 little-endian bytes: u16 code, u8 jt, u8 jf, u32 k', () => {
    const bytes = encodeProgram(assemble([jeq(0x11223344, 1, 2), ret(SECCOMP_RET_ALLOW)]));
    expect([...bytes]).toEqual([0x15, 0, 1, 2, 0x44, 0x33, 0x22, 0x11, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
    expect(decodeProgram(bytes)).toEqual([
      { code: 0x15, jt: 1, jf: 2, k: 0x11223344 },
      { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
    ]);
  });

  it('turns labels into forward distances', () => {
    const program = assemble([ld(0), jeq(1, to('yes'), 0), ret(0), label('yes'), ret(SECCOMP_RET_ALLOW)]);
    expect(program[1]).toMatchObject({ jt: 1, jf: 0 });
  });

  it('refuses a backward jump, a missing label and a conditional jump over 255 instructions', () => {
    expect(() => assemble([label('back'), jeq(1, to('back'), 0), ret(0)])).toThrow(/0–255/);
    expect(() => assemble([jeq(1, to('nowhere'), 0), ret(0)])).toThrow(/not defined/);
    const far: AsmItem[] = [jeq(1, to('end'), 0), ...Array.from({ length: 256 }, () => ret(0)), label('end'), ret(0)];
    expect(() => assemble(far)).toThrow(/spans 256/);
  });

  it('refuses bytes that are not whole instructions', () => {
    expect(() => decodeProgram(new Uint8Array(12))).toThrow(/multiple of 8/);
  });
});

describe('actions', () => {
  it('encode as the kernel defines them, errno in the low 16 bits', () => {
    expect(actionValue(ALLOW)).toBe(0x7fff0000);
    expect(actionValue(errnoAction(38))).toBe(0x00050026);
    expect(actionValue({ type: 'kill-process' })).toBe(0x80000000);
    expect(describeAction(0x00050026)).toBe('ERRNO(ENOSYS)');
    expect(describeAction(0x00050005)).toBe('ERRNO(5)');
  });

  it('refuse an errno the kernel would not return', () => {
    expect(() => actionValue(errnoAction(4096))).toThrow(UserError);
    expect(() => actionValue(errnoAction(-1))).toThrow(UserError);
  });
});

/** A one-rule profile: mount(2) with this condition on argument 2 → EPERM, everything else allowed. */
function profileWith(condition: ArgCondition): SeccompProfile {
  return { defaultAction: ALLOW, rules: [{ names: ['mount'], action: errnoAction(1), args: [condition] }] };
}

/** The meaning libseccomp gives each comparison, on the whole 64-bit register. */
function holds(op: ArgOp, arg: bigint, value: bigint, mask = 0n): boolean {
  switch (op) {
    case 'eq':
      return arg === value;
    case 'ne':
      return arg !== value;
    case 'lt':
      return arg < value;
    case 'le':
      return arg <= value;
    case 'gt':
      return arg > value;
    case 'ge':
      return arg >= value;
    case 'masked-eq':
      return (arg & mask) === value;
  }
}

describe('argument tests', () => {
  const U64 = (1n << 64n) - 1n;
  const interesting = [0n, 1n, 0x7fffffffn, 0xffffffffn, 1n << 32n, (1n << 32n) + 5n, 0x123456789n, U64 - 1n, U64];
  const around = (v: bigint) => [v - 1n, v, v + 1n].filter((x) => x >= 0n && x <= U64);
  const ops: ArgOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];

  it('compare all 64 bits, unsigned, exactly as libseccomp defines each operator', () => {
    for (const op of ops) {
      for (const value of interesting) {
        const program = compileSeccompProfile(profileWith({ index: 2, op, value }), 'x86_64');
        checkSeccompProgram(program);
        for (const arg of [...interesting, ...around(value), value ^ (1n << 40n), value ^ 1n]) {
          if (arg < 0n || arg > U64) continue;
          const got = runSeccompProgram(program, { nr: MOUNT, arch: AUDIT_ARCH_X86_64, args: [0n, 0n, arg] });
          const expected = holds(op, arg, value) ? EPERM_RET : SECCOMP_RET_ALLOW;
          expect({ op, value, arg, got }).toEqual({ op, value, arg, got: expected });
        }
      }
    }
  });

  it('mask the argument for masked-eq, in either half', () => {
    const cases: Array<[bigint, bigint]> = [
      [0x20000n, 0x20000n], // one bit set
      [0x7e020000n, 0n], // none of these bits set (docker's clone rule)
      [0xffffffffn, 38n], // the low half equals 38, whatever the high half holds
      [0xff00n, 0x1200n], // several bits with a pattern
      [0xffff00000000n, 0x12300000000n], // a pattern in the high half
      [0xf0n, 0x0fn], // a value outside the mask: never matches
    ];
    for (const [mask, value] of cases) {
      const program = compileSeccompProfile(profileWith({ index: 0, op: 'masked-eq', mask, value }), 'x86_64');
      checkSeccompProgram(program);
      for (const arg of [...interesting, mask, value, mask | (1n << 35n), value | (7n << 32n), 0x1200n, 0x26n]) {
        const got = runSeccompProgram(program, { nr: MOUNT, arch: AUDIT_ARCH_X86_64, args: [arg] });
        const expected = holds('masked-eq', arg, value, mask) ? EPERM_RET : SECCOMP_RET_ALLOW;
        expect({ mask, value, arg, got }).toEqual({ mask, value, arg, got: expected });
      }
    }
  });

  it('are ANDed within a rule', () => {
    const profile: SeccompProfile = {
      defaultAction: ALLOW,
      rules: [
        {
          names: ['mount'],
          action: errnoAction(1),
          args: [
            { index: 0, op: 'eq', value: 1n },
            { index: 1, op: 'gt', value: 10n },
          ],
        },
      ],
    };
    const program = compileSeccompProfile(profile, 'x86_64');
    const run = (a: bigint, b: bigint) =>
      runSeccompProgram(program, { nr: MOUNT, arch: AUDIT_ARCH_X86_64, args: [a, b] });
    expect([run(1n, 11n), run(1n, 10n), run(2n, 11n)]).toEqual([EPERM_RET, SECCOMP_RET_ALLOW, SECCOMP_RET_ALLOW]);
  });

  it('refuse an argument index beyond the six a system call has', () => {
    expect(() => compileSeccompProfile(profileWith({ index: 6, op: 'eq', value: 0n }), 'x86_64')).toThrow(UserError);
  });
});

describe('rules', () => {
  it('are tried in order and the first match decides', () => {
    const profile: SeccompProfile = {
      defaultAction: errnoAction(1),
      rules: [
        { names: ['mount'], action: ALLOW, args: [{ index: 0, op: 'eq', value: 7n }] },
        { names: ['mount'], action: errnoAction(5) },
        { names: ['mount'], action: ALLOW }, // unreachable
      ],
    };
    const program = compileSeccompProfile(profile, 'x86_64');
    const run = (a: bigint) => runSeccompProgram(program, { nr: MOUNT, arch: AUDIT_ARCH_X86_64, args: [a] });
    expect(run(7n)).toBe(SECCOMP_RET_ALLOW);
    expect(run(8n)).toBe((SECCOMP_RET_ERRNO | 5) >>> 0);
    expect(runSeccompProgram(program, { nr: 0, arch: AUDIT_ARCH_X86_64 })).toBe(EPERM_RET);
  });

  it('skip names an architecture does not have', () => {
    const profile: SeccompProfile = {
      defaultAction: ALLOW,
      rules: [{ names: ['iopl', 'mount'], action: errnoAction(1) }],
    };
    expect(describeProgram(compileSeccompProfile(profile, 'aarch64'), 'aarch64').join('\n')).not.toMatch(/iopl/);
    expect(describeProgram(compileSeccompProfile(profile, 'x86_64'), 'x86_64').join('\n')).toMatch(/iopl/);
  });

  it('still compile when one system call has more than 255 instructions of tests (the block is stepped over)', () => {
    const rules = Array.from({ length: 80 }, (_, i) => ({
      names: ['mount'],
      action: errnoAction(1),
      args: [{ index: 0, op: 'eq' as const, value: BigInt(i) }],
    }));
    const program = compileSeccompProfile(
      { defaultAction: ALLOW, rules: [...rules, { names: ['umount2'], action: errnoAction(1) }] },
      'x86_64',
    );
    checkSeccompProgram(program);
    expect(program.some((i) => i.code === BPF_JMP_JA)).toBe(true);
    const run = (nr: number, a: bigint) => runSeccompProgram(program, { nr, arch: AUDIT_ARCH_X86_64, args: [a] });
    expect([run(MOUNT, 79n), run(MOUNT, 80n), run(166, 0n), run(0, 0n)]).toEqual([
      EPERM_RET,
      SECCOMP_RET_ALLOW,
      EPERM_RET,
      SECCOMP_RET_ALLOW,
    ]);
  });
});

describe('a compiled program', () => {
  const profile: SeccompProfile = { defaultAction: ALLOW, rules: [{ names: ['mount'], action: errnoAction(1) }] };

  it('starts with the architecture check and kills a foreign one', () => {
    const program = compileSeccompProfile(profile, 'x86_64');
    expect(program.slice(0, 3)).toEqual([
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 },
      { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_KILL_PROCESS },
    ]);
  });

  it('is the same as bytes and as instructions', () => {
    expect(decodeProgram(buildSeccompProgram(profile, 'aarch64'))).toEqual(compileSeccompProfile(profile, 'aarch64'));
  });

  it('reads back as a listing with the architecture, the system call and the action named', () => {
    const lines = describeProgram(buildSeccompProgram(profile, 'x86_64'), 'x86_64');
    expect(lines).toHaveLength(compileSeccompProfile(profile, 'x86_64').length);
    expect(lines[0]).toMatch(/^0000: ld {3}\[4\] +A = arch$/);
    expect(lines[1]).toMatch(/^0001: jeq {2}#0xc000003e, 0003, 0002 +x86_64$/);
    expect(lines[2]).toBe('0002: ret  KILL_PROCESS');
    expect(lines[7]).toMatch(/^0007: jeq {2}#165, 0008, 0009 +mount$/);
    expect(lines).toContain('0008: ret  ERRNO(EPERM)');
    expect(lines.at(-1)).toBe('0009: ret  ALLOW');
  });
});
