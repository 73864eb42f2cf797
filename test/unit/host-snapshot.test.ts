import { describe, expect, it } from 'vitest';
import {
  added,
  checkMode,
  countedState,
  differences,
  mountPoints,
  type HostSnapshot,
} from '../reliability/host-snapshot.ts';

const snap = (over: Partial<HostSnapshot> = {}): HostSnapshot => ({
  mounts: ['/', '/proc'],
  links: ['lo', 'eth0'],
  netns: [],
  rules: [],
  cgroups: [],
  state: [],
  ...over,
});

describe('the final host check', () => {
  it('finds what is new, counting a mount point mounted twice as twice', () => {
    const after = snap({ mounts: ['/', '/proc', '/proc', '/run/scratch/05ab12/x'], netns: ['scr05ab12'] });
    expect(added(snap(), after)).toEqual(['mounts: /proc', 'mounts: /run/scratch/05ab12/x', 'netns: scr05ab12']);
  });

  it('on a shared machine counts only what carries one of the suite’s ids; in CI, everything', () => {
    const after = snap({ netns: ['scr05ab12', 'scr07ffff'], links: ['lo'] });
    expect(differences(snap(), after, 'scoped', ['05ab12'])).toEqual(['netns: scr05ab12']);
    expect(differences(snap(), after, 'whole', ['05ab12'])).toEqual([
      'netns: scr05ab12',
      'netns: scr07ffff',
      'gone: links: eth0',
    ]);
  });

  it('does not count /run/netns itself, which iproute2 mounts once and keeps, but does count a namespace in it', () => {
    const info = [
      '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
      '90 22 0:25 /netns /run/netns rw,shared:5 - tmpfs tmpfs rw',
      '91 90 0:4 net:[4026532319] /run/netns/scr05ab12 rw - nsfs nsfs rw',
    ].join('\n');
    expect(mountPoints(info)).toEqual(['/', '/run/netns/scr05ab12']);
  });

  it('does not count the name and run-id registries themselves, but does count what is in them', () => {
    expect(
      countedState([
        '/run/scratch/.names',
        '/run/scratch/.names/web',
        '/run/scratch/.names/web/05ab12',
        '/run/scratch/.runs',
        '/run/scratch/.runs/05ab12',
        '/run/scratch/05ab12',
      ]),
    ).toEqual([
      '/run/scratch/.names/web',
      '/run/scratch/.names/web/05ab12',
      '/run/scratch/.runs/05ab12',
      '/run/scratch/05ab12',
    ]);
  });

  it('is whole in CI, scoped elsewhere, and can be set', () => {
    expect(checkMode({ CI: 'true' })).toBe('whole');
    expect(checkMode({})).toBe('scoped');
    expect(checkMode({ CI: 'true', SCRATCH_HOST_CHECK: 'off' })).toBe('off');
  });
});
