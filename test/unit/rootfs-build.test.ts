import { describe, expect, it } from 'vitest';
import { appletTarget, parseAppletList } from '../../rootfs-scripts/busybox.ts';
import { isOurMountPoint } from '../../lib/leftovers.ts';
import { mountsUnder, parseMountinfo } from '../../lib/mountinfo.ts';

describe('busybox rootfs layout', () => {
  it('links each applet back to /bin/busybox with a path that resolves inside the rootfs', () => {
    expect(appletTarget('bin/ls')).toBe('busybox');
    expect(appletTarget('sbin/ip')).toBe('../bin/busybox');
    expect(appletTarget('usr/bin/awk')).toBe('../../bin/busybox');
    expect(appletTarget('linuxrc')).toBe('bin/busybox');
  });

  it('keeps only safe relative applet paths', () => {
    expect(parseAppletList('usr/bin/[\nbin/ls\n\n/etc/passwd\n../../x\nbin/busybox\n')).toEqual([
      'usr/bin/[',
      'bin/ls',
    ]);
  });
});

describe('mount table', () => {
  const text = `22 1 8:1 / / rw - ext4 /dev/vda rw
40 22 0:5 / /var/lib/scratch/rootfs/busybox/proc rw - proc proc rw
41 22 0:6 / /run/scratch/05ab12/merged rw shared:3 - overlay overlay rw
42 22 0:7 / /mnt/with\\040space rw - tmpfs tmpfs rw`;

  it('parses mount points (with escapes), types and propagation', () => {
    const m = parseMountinfo(text);
    expect(m.map((x) => x.fsType)).toEqual(['ext4', 'proc', 'overlay', 'tmpfs']);
    expect(m[3]?.mountPoint).toBe('/mnt/with space');
    expect(m[2]?.optional).toBe('shared:3');
  });

  it('finds the mounts below a directory, deepest first', () => {
    expect(mountsUnder('/var/lib/scratch/rootfs/busybox', parseMountinfo(text)).map((m) => m.id)).toEqual([40]);
    expect(mountsUnder('/run', parseMountinfo(text)).map((m) => m.id)).toEqual([41]);
  });

  it('recognises the workshop’s own mounts by name only', () => {
    expect(isOurMountPoint('/run/scratch/05ab12/merged')).toBe(true);
    expect(isOurMountPoint('/var/lib/scratch/rootfs/busybox/proc')).toBe(true);
    expect(isOurMountPoint('/run/netns/scr05ab12')).toBe(true);
    expect(isOurMountPoint('/sys/fs/cgroup/memory')).toBe(false);
    expect(isOurMountPoint('/scratchpad')).toBe(false);
    expect(isOurMountPoint('/home/script')).toBe(false);
  });
});
