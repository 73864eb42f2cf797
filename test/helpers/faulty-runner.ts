/**
 * A runner that fails on purpose: it passes every command and host effect to a real runner, and makes the Nth one
 * fail instead — a command exits 1 with "injected failure" on stderr, a host effect throws EIO, a started process
 * (a container's init) is killed before it can say `ready`. The reliability suite uses it to prove that a failure
 * anywhere in the middle of setup unwinds everything set up before it, without breaking anything on the machine.
 *
 * In recording mode (no N) it fails nothing and lists every call, with the category the suite picks points by.
 */
import { CommandError } from '../../lib/errors.ts';
import type { HostOp } from '../../lib/hostops.ts';
import { quoteArgv } from '../../lib/quote.ts';
import type { BackgroundProcess, RunOptions, RunResult, Runner } from '../../lib/runner.ts';

export type Category = 'mount' | 'cgroup' | 'ip' | 'iptables' | 'init' | 'other';

export interface Call {
  index: number;
  kind: 'run' | 'start' | 'apply';
  line: string;
  category: Category;
}

export const INJECTED = 'injected failure';

/** The command that really runs, under `nsenter … --` or `ip netns exec NAME`. */
function effective(argv: readonly string[]): readonly string[] {
  if (argv[0] === 'env') {
    let i = 1;
    while (argv[i] === '-i' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i] ?? '')) i++;
    return effective(argv.slice(i));
  }
  if (argv[0] === 'nsenter' && argv.includes('--')) return effective(argv.slice(argv.indexOf('--') + 1));
  if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec') return effective(argv.slice(4));
  return argv;
}

export function categorize(call: { kind: Call['kind']; argv?: readonly string[]; op?: HostOp }): Category {
  if (call.op) {
    const p = 'path' in call.op ? call.op.path : '';
    return p.startsWith('/sys/fs/cgroup/') ? 'cgroup' : 'other';
  }
  const argv = call.argv ?? [];
  if (call.kind === 'start' && argv.includes('unshare')) return 'init';
  const cmd = effective(argv)[0] ?? '';
  if (cmd === 'mount') return 'mount';
  if (cmd === 'ip') return 'ip';
  if (/^iptables/.test(cmd)) return 'iptables';
  return 'other';
}

export class FaultyRunner implements Runner {
  readonly calls: Call[] = [];
  /** The call that was made to fail, once it has been. */
  failed: Call | undefined;

  constructor(
    private readonly inner: Runner,
    /** 0-based index of the call to fail; undefined: fail none (recording). */
    private readonly failAt?: number,
  ) {}

  get dryRun() {
    return this.inner.dryRun;
  }

  get interactive() {
    return this.inner.interactive;
  }

  private note(kind: Call['kind'], line: string, category: Category): Call | undefined {
    const call: Call = { index: this.calls.length, kind, line, category };
    this.calls.push(call);
    if (call.index !== this.failAt) return undefined;
    this.failed = call;
    return call;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (!this.note('run', quoteArgv(argv), categorize({ kind: 'run', argv }))) return this.inner.run(argv, opts);
    const result: RunResult = {
      argv,
      exitCode: 1,
      signal: undefined,
      stdout: '',
      stderr: `${INJECTED}\n`,
      dryRun: false,
    };
    if (opts.reject === false) return result;
    throw new CommandError({ ...result, display: quoteArgv(argv) });
  }

  start(argv: readonly string[], opts: Omit<RunOptions, 'reject'> = {}): BackgroundProcess {
    const proc = this.inner.start(argv, opts);
    // An init that dies before it says `ready`: started for real, then killed at once.
    if (this.note('start', quoteArgv(argv), categorize({ kind: 'start', argv }))) proc.kill('SIGKILL');
    return proc;
  }

  apply(op: HostOp, perform?: () => void): void {
    const line = JSON.stringify(op);
    if (!this.note('apply', line, categorize({ kind: 'apply', op }))) return this.inner.apply(op, perform);
    throw Object.assign(new Error(`${INJECTED}: ${op.kind} ${'path' in op ? op.path : ''}`), { code: 'EIO' });
  }

  killAll(signal?: NodeJS.Signals): void {
    this.inner.killAll(signal);
  }
}
