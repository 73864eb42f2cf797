import { describe, expect, it } from 'vitest';
import { onlyEndedProcesses } from '../../lib/chroot.ts';

describe('lesson 01: ls /proc on a busy host', () => {
  it('a process that ended while ls read /proc is not a failure', () => {
    const stderr = 'ls: /proc/3860: No such file or directory\nls: /proc/3871: No such file or directory\n';
    expect(onlyEndedProcesses({ exitCode: 1, stderr })).toBe(true);
  });

  it('anything else is: another error, another exit code, or an exit 1 that says nothing', () => {
    expect(onlyEndedProcesses({ exitCode: 1, stderr: 'ls: /proc/self: No such file or directory\n' })).toBe(false);
    expect(onlyEndedProcesses({ exitCode: 1, stderr: 'ls: /proc/12: Permission denied\n' })).toBe(false);
    expect(onlyEndedProcesses({ exitCode: 127, stderr: 'ls: /proc/12: No such file or directory\n' })).toBe(false);
    expect(onlyEndedProcesses({ exitCode: 1, stderr: '' })).toBe(false);
    const mixed = 'ls: /proc/12: No such file or directory\nchroot: failed to run command: No such file\n';
    expect(onlyEndedProcesses({ exitCode: 1, stderr: mixed })).toBe(false);
  });
});
