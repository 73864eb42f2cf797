import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CAPABILITY_NAMES,
  DOCKER_DEFAULT_CAPABILITIES,
  KNOWN_LAST_CAP,
  LINUX_CAPABILITY_VERSION_3,
  allCapabilities,
  boundingSetDrops,
  capabilitiesFromHex,
  capabilitiesNotHeld,
  capabilitiesToHex,
  capabilityName,
  capabilityNumber,
  capsetWords,
  describeCapabilityHex,
  droppedCapabilities,
  encodeCapset,
  ociCapabilities,
  parseCapability,
  readCapLastCap,
  readOwnBoundingSet,
  resolveCapabilities,
  type CapabilityName,
} from '../../lib/capabilities.ts';
import { UserError } from '../../lib/errors.ts';

const HEADER = '/usr/include/linux/capability.h';
const haveHeader = fs.existsSync(HEADER);

describe('capability names and numbers', () => {
  it.skipIf(!haveHeader && process.env.CI !== 'true')('match the kernel header, name for name (linux-libc-dev)', () => {
    const header = fs.readFileSync(HEADER, 'utf8');
    const defined = [...header.matchAll(/^#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$/gm)].map((m) => [m[1], Number(m[2])]);
    expect(defined.length).toBeGreaterThanOrEqual(41);
    for (const [name, n] of defined) expect([name, capabilityName(n as number)]).toEqual([name, name]);
  });

  it('run from CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40), and back', () => {
    expect(CAPABILITY_NAMES).toHaveLength(41);
    expect(capabilityNumber('CAP_CHOWN')).toBe(0);
    expect(capabilityNumber('CAP_SYS_ADMIN')).toBe(21);
    expect(capabilityNumber('CAP_CHECKPOINT_RESTORE')).toBe(40);
    expect(KNOWN_LAST_CAP).toBe(40);
    for (const [n, name] of CAPABILITY_NAMES.entries()) expect(capabilityNumber(name)).toBe(n);
  });

  it('name a capability newer than the table by its number', () => {
    expect(capabilityName(41)).toBe('CAP_41');
  });
});

describe('the running kernel’s last capability', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-caps-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const file = (text: string) => {
    const f = path.join(tmp, `cap_last_cap-${Math.random()}`);
    fs.writeFileSync(f, text);
    return f;
  };

  it('is read from cap_last_cap', () => {
    expect(readCapLastCap(file('37\n'))).toBe(37);
  });

  it('is the table’s last when the file is missing or unreadable', () => {
    expect(readCapLastCap(path.join(tmp, 'missing'))).toBe(40);
    expect(readCapLastCap(file('garbage'))).toBe(40);
  });

  it('limits "all" to what that kernel has', () => {
    expect(allCapabilities(37)).toHaveLength(38);
    expect(allCapabilities(37).at(-1)).toBe('CAP_AUDIT_READ');
    expect(allCapabilities(45)).toHaveLength(41);
  });
});

describe("docker's default set", () => {
  it('is the 14 capabilities docker documents, mask a80425fb', () => {
    expect(DOCKER_DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(capabilitiesToHex(DOCKER_DEFAULT_CAPABILITIES)).toBe('00000000a80425fb');
  });

  it('gives capset(2) the low word a80425fb and an empty high word', () => {
    expect(capsetWords(DOCKER_DEFAULT_CAPABILITIES)).toEqual([0xa80425fb, 0]);
  });
});

describe('--cap-add / --cap-drop values', () => {
  it('accept any case, with or without CAP_', () => {
    for (const v of ['NET_ADMIN', 'net_admin', 'CAP_NET_ADMIN', 'cap_Net_Admin', ' NET_ADMIN ']) {
      expect(parseCapability(v)).toBe('CAP_NET_ADMIN');
    }
    expect(parseCapability('all')).toBe('ALL');
    expect(parseCapability('ALL')).toBe('ALL');
  });

  it('refuse an unknown name in one line that says what to use', () => {
    const err = (() => {
      try {
        parseCapability('NET_ADMINN');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('unknown capability: "NET_ADMINN"');
    expect((err as UserError).fix).toMatch(/NET_ADMIN or CAP_NET_ADMIN/);
  });

  it('refuse a capability this kernel does not have', () => {
    expect(() => parseCapability('BPF', 37)).toThrow(/not supported by this kernel/);
  });
});

describe('the capability list, from the default and the changes (docker’s rules)', () => {
  const without = (...drop: CapabilityName[]) => DOCKER_DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));

  it('is the default when nothing changes', () => {
    expect(resolveCapabilities()).toHaveLength(14);
    expect(capabilitiesToHex(resolveCapabilities())).toBe('00000000a80425fb');
  });

  it('takes the drops off and puts the adds on', () => {
    const caps = resolveCapabilities({ drop: ['net_raw', 'CAP_MKNOD'], add: ['NET_ADMIN'] });
    expect(new Set(caps)).toEqual(new Set([...without('CAP_NET_RAW', 'CAP_MKNOD'), 'CAP_NET_ADMIN']));
  });

  it('keeps only the adds after --cap-drop ALL', () => {
    expect(resolveCapabilities({ drop: ['ALL'], add: ['chown', 'NET_BIND_SERVICE'] })).toEqual([
      'CAP_CHOWN',
      'CAP_NET_BIND_SERVICE',
    ]);
    expect(resolveCapabilities({ drop: ['ALL'] })).toEqual([]);
  });

  it('gives everything but the drops after --cap-add ALL', () => {
    const caps = resolveCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'] });
    expect(caps).toHaveLength(40);
    expect(caps).not.toContain('CAP_SYS_ADMIN');
    expect(resolveCapabilities({ add: ['ALL'] }, undefined, 37)).toHaveLength(38);
  });

  it('comes out in kernel order without duplicates', () => {
    expect(resolveCapabilities({ drop: ['ALL'], add: ['KILL', 'CHOWN', 'kill'] })).toEqual(['CAP_CHOWN', 'CAP_KILL']);
  });

  it('passes an unknown name on as the one-line error', () => {
    expect(() => resolveCapabilities({ add: ['FLY'] })).toThrow(UserError);
  });
});

describe('process.capabilities for config.json', () => {
  it('puts the list in bounding, permitted and effective; inheritable and ambient stay empty', () => {
    const caps = ociCapabilities({ drop: ['NET_RAW'] });
    const expected = resolveCapabilities({ drop: ['NET_RAW'] });
    expect(caps).toEqual({
      bounding: expected,
      effective: expected,
      inheritable: [],
      permitted: expected,
      ambient: [],
    });
  });
});

describe('capset(2) arguments', () => {
  it('are version 3 for the calling thread, with each set split into two little-endian words', () => {
    const { header, data } = encodeCapset({
      effective: ['CAP_SETFCAP', 'CAP_BPF'], // bits 31 and 39
      permitted: ['CAP_SETFCAP', 'CAP_BPF', 'CAP_CHOWN'],
      inheritable: [],
    });
    const h = new DataView(header.buffer);
    expect(h.getUint32(0, true)).toBe(LINUX_CAPABILITY_VERSION_3);
    expect(h.getInt32(4, true)).toBe(0);
    const d = new DataView(data.buffer);
    const words = [0, 4, 8, 12, 16, 20].map((o) => d.getUint32(o, true));
    // data[0] = {effective, permitted, inheritable} for 0–31, data[1] the same for 32–63.
    expect(words).toEqual([0x80000000, 0x80000001, 0, 1 << 7, 1 << 7, 0]);
  });
});

describe('the bounding-set drops', () => {
  it('are every capability up to the last that is not kept', () => {
    const drops = boundingSetDrops(DOCKER_DEFAULT_CAPABILITIES);
    expect(drops).toHaveLength(41 - 14);
    expect(drops).toContain(capabilityNumber('CAP_SYS_ADMIN'));
    expect(drops).not.toContain(capabilityNumber('CAP_CHOWN'));
  });

  it('include numbers newer than this table on a newer kernel', () => {
    expect(boundingSetDrops(DOCKER_DEFAULT_CAPABILITIES, 42).slice(-2)).toEqual([41, 42]);
  });
});

describe('the /proc/<pid>/status form', () => {
  it('round-trips between names and 16 hex digits', () => {
    for (const hex of ['0000000000000000', '00000000a80425fb', '000001ffffffffff', '000001fffeffffff']) {
      expect(capabilitiesToHex(capabilitiesFromHex(hex) as CapabilityName[])).toBe(hex);
    }
    expect(capabilitiesFromHex('00000000a80425fb')).toEqual([...resolveCapabilities()]);
    expect(capabilitiesFromHex('0000030000000000')).toEqual(['CAP_CHECKPOINT_RESTORE', 'CAP_41']);
  });

  it('refuses something that is not a mask', () => {
    expect(() => capabilitiesFromHex('zz')).toThrow(/not a capability mask/);
  });

  it('is described in words for the lesson', () => {
    expect(describeCapabilityHex('0000000000000000')).toBe('none');
    expect(describeCapabilityHex('000001ffffffffff')).toBe('all 41');
    expect(describeCapabilityHex('000001fffeffffff')).toBe('all except CAP_SYS_RESOURCE');
    expect(describeCapabilityHex('0000000000200001')).toBe('CAP_CHOWN, CAP_SYS_ADMIN');
    expect(describeCapabilityHex('000000ffffffffff', 39)).toBe('all 40');
  });

  it('tells what was dropped between two status values', () => {
    const dropped = droppedCapabilities('000001fffeffffff', '00000000a80425fb');
    expect(dropped).toHaveLength(40 - 14);
    expect(dropped).toContain('CAP_SYS_ADMIN');
    expect(dropped).not.toContain('CAP_SYS_RESOURCE');
  });
});

describe('capabilities a runtime cannot give', () => {
  it('are those outside its own bounding set: none on an ordinary root, SYS_RESOURCE where it was dropped', () => {
    const wanted = allCapabilities(40);
    expect(capabilitiesNotHeld(wanted, '000001ffffffffff')).toEqual([]);
    expect(capabilitiesNotHeld(wanted, '000001fffeffffff')).toEqual(['CAP_SYS_RESOURCE']);
    expect(capabilitiesNotHeld(DOCKER_DEFAULT_CAPABILITIES, '000001fffeffffff')).toEqual([]);
    expect(capabilitiesNotHeld(['CAP_SYS_ADMIN', 'CAP_CHOWN'], '0000000000000001')).toEqual(['CAP_SYS_ADMIN']);
  });

  it('the bounding set is read from a status file; without one nothing is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-capbnd-'));
    try {
      const file = path.join(dir, 'status');
      fs.writeFileSync(file, 'Name:\tnode\nCapEff:\t0000000000000000\nCapBnd:\t000001fffeffffff\n');
      expect(readOwnBoundingSet(file)).toBe('000001fffeffffff');
      expect(capabilitiesNotHeld(allCapabilities(40), readOwnBoundingSet(path.join(dir, 'missing')))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
