import { describe, expect, it } from 'vitest';
import { CommandError } from '../../lib/errors.ts';
import { RecordingRunner } from '../../lib/runner.ts';
import { categorize, FaultyRunner, INJECTED } from '../helpers/faulty-runner.ts';

describe('the reliability suite’s faulty runner', () => {
  it('fails exactly the Nth call and passes every other one through', async () => {
    const inner = new RecordingRunner();
    const runner = new FaultyRunner(inner, 1);
    await runner.run(['ip', 'netns', 'add', 'scr05ab12']);
    await expect(runner.run(['iptables', '-A', 'FORWARD'])).rejects.toBeInstanceOf(CommandError);
    await expect(runner.run(['iptables', '-A', 'FORWARD'])).resolves.toMatchObject({ exitCode: 0 });
    expect(inner.lines).toEqual(['ip netns add scr05ab12', 'iptables -A FORWARD']);
    expect(runner.failed?.line).toBe('iptables -A FORWARD');
  });

  it('a failed host effect throws like a failed write would, and is not performed', () => {
    const inner = new RecordingRunner();
    const runner = new FaultyRunner(inner, 0);
    let performed = false;
    const op = { kind: 'write', path: '/sys/fs/cgroup/pids/scratch/05ab12/pids.max', value: '20' } as const;
    expect(() => runner.apply(op, () => (performed = true))).toThrow(INJECTED);
    expect(performed).toBe(false);
    expect(inner.calls).toEqual([]);
  });

  it('with reject: false, a failed command answers like one that exited 1', async () => {
    const runner = new FaultyRunner(new RecordingRunner(), 0);
    expect(await runner.run(['mount', '-t', 'tmpfs'], { reject: false })).toMatchObject({ exitCode: 1 });
  });

  it('sorts calls into the kinds of step the suite fails on purpose', () => {
    expect(categorize({ kind: 'run', argv: ['ip', 'netns', 'exec', 'scrt1', 'iptables-nft', '-A', 'X'] })).toBe(
      'iptables',
    );
    expect(categorize({ kind: 'run', argv: ['nsenter', '--net=/run/netns/x', '--', 'ip', 'link'] })).toBe('ip');
    expect(categorize({ kind: 'run', argv: ['mount', '--make-rprivate', '/'] })).toBe('mount');
    expect(categorize({ kind: 'start', argv: ['env', '-i', 'A=1', 'unshare', '--pid', '--', 'node'] })).toBe('init');
    expect(categorize({ kind: 'apply', op: { kind: 'mkdir', path: '/sys/fs/cgroup/memory/scratch/x' } })).toBe(
      'cgroup',
    );
    expect(categorize({ kind: 'apply', op: { kind: 'remove', path: '/run/scratch/x' } })).toBe('other');
  });
});
