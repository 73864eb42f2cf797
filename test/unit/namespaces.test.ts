import { describe, expect, it } from 'vitest';
import {
  differingNamespaces,
  formatNamespaces,
  nsenterArgv,
  orderedNamespaces,
  parseNsPid,
  procKinds,
  readHostname,
  unshareArgv,
} from '../../lib/namespaces.ts';
import { RecordingRunner } from '../../lib/runner.ts';

describe('unshare argv', () => {
  it('lists the requested namespaces in the fixed order, whatever order they were asked in', () => {
    expect(unshareArgv(['mount', 'ipc', 'uts'])).toEqual(['unshare', '--ipc', '--uts', '--mount', '--']);
    expect(orderedNamespaces(['mount', 'user', 'uts', 'uts'])).toEqual(['user', 'uts', 'mount']);
  });

  it('uses the /proc-style flag for OCI names (network → --net)', () => {
    expect(unshareArgv(['network'])).toEqual(['unshare', '--net', '--']);
  });

  it('forks, and kills the child with it, when asked', () => {
    expect(unshareArgv(['pid', 'mount'], { fork: true, killChild: true })).toEqual([
      'unshare',
      '--pid',
      '--mount',
      '--fork',
      '--kill-child',
      '--',
    ]);
  });

  it('refuses a PID namespace without fork, since only children of unshare enter it', () => {
    expect(() => unshareArgv(['pid'])).toThrow(/fork/);
  });

  it('passes a propagation only when there is a mount namespace for it to apply to', () => {
    expect(unshareArgv(['mount'], { propagation: 'unchanged' })).toEqual([
      'unshare',
      '--mount',
      '--propagation',
      'unchanged',
      '--',
    ]);
    expect(unshareArgv(['uts'], { propagation: 'unchanged' })).toEqual(['unshare', '--uts', '--']);
  });
});

describe('nsenter argv', () => {
  it('targets a PID and joins the given namespaces in order, optionally taking its root and cwd', () => {
    expect(nsenterArgv(4711, ['mount', 'pid', 'uts'], { root: true, wd: true })).toEqual([
      'nsenter',
      '--target',
      '4711',
      '--uts',
      '--pid',
      '--mount',
      '--root',
      '--wd',
      '--',
    ]);
    expect(nsenterArgv(1, ['ipc'])).toEqual(['nsenter', '--target', '1', '--ipc', '--']);
  });

  it('reads a hostname through the UTS namespace only', async () => {
    const runner = new RecordingRunner().respondTo('hostname', 'host\n').respondTo('nsenter', 'box\n');
    expect(await readHostname(runner, 99)).toBe('box');
    expect(await readHostname(runner)).toBe('host');
    expect(runner.lines).toEqual(['nsenter --target 99 --uts -- hostname', 'hostname']);
  });
});

describe('reading namespaces', () => {
  it('names the kinds in which two processes differ, ignoring kinds one of them lacks', () => {
    const host = { ipc: 1, mnt: 2, pid: 3, uts: 4, time: 9 };
    const box = { ipc: 11, mnt: 2, pid: 3, uts: 14 };
    expect(differingNamespaces(host, box)).toEqual(['ipc', 'uts']);
  });

  it('maps OCI types to /proc kinds in /proc order', () => {
    expect(procKinds(['uts', 'mount', 'network', 'ipc'])).toEqual(['ipc', 'mnt', 'net', 'uts']);
  });

  it('formats one kind per line for side-by-side evidence', () => {
    expect(formatNamespaces({ uts: 5, ipc: 7 }, ['ipc', 'uts', 'pid'])).toBe('ipc    7\nuts    5');
  });

  it('parses NSpid: the host PID first, the PID inside the namespace last', () => {
    expect(parseNsPid('4711\t1')).toEqual([4711, 1]);
    expect(parseNsPid('812')).toEqual([812]);
    expect(parseNsPid(undefined)).toEqual([]);
  });
});

describe('parseNamespaceListing', () => {
  it('reads the inode of each namespace from ls -l /proc/PID/ns, skipping the *_for_children links', async () => {
    const { parseNamespaceListing } = await import('../../lib/namespaces.ts');
    const text = [
      'total 0',
      'lrwxrwxrwx 1 root root 0 Nov 25 19:36 cgroup -> cgroup:[4026531835]',
      "lrwxrwxrwx 1 root root 0 Nov 25 19:36 uts -> 'uts:[4026532301]'",
      'lrwxrwxrwx 1 root root 0 Nov 25 19:36 pid_for_children -> pid:[4026531836]',
    ].join('\n');
    expect(parseNamespaceListing(text)).toEqual({ cgroup: 4026531835, uts: 4026532301 });
  });
});
