/**
 * The cleanup stack: how every lesson leaves the machine as it found it.
 *
 * Each time a lesson creates something on the host — a mount, a cgroup, a veth pair, a network namespace, a
 * state directory, a background process — it pushes the matching undo onto this stack at once, before doing
 * anything else that could fail. When the lesson ends, however it ends (success, an error, Ctrl-C, SIGTERM), the
 * runner unwinds the stack last-in first-out, so things are undone in the reverse order they were made: the
 * process is killed before its cgroup is removed, the bind mount is unmounted before its directory is deleted.
 * An undo that fails does not stop the others; all failures are reported together.
 */

export interface CleanupEntry {
  /** What is undone, for the learner: "remove cgroup scratch/ab12". */
  readonly description: string;
  readonly undo: () => unknown;
}

export interface UnwindReport {
  description: string;
  error?: unknown;
}

export class CleanupStack {
  private readonly entries: CleanupEntry[] = [];
  private unwinding: Promise<UnwindReport[]> | undefined;

  /**
   * Register an undo. Returns a function that drops it again without running it, for a resource that went
   * away by itself (a process that exited normally).
   */
  push(description: string, undo: () => unknown): () => void {
    const entry: CleanupEntry = { description, undo };
    this.entries.push(entry);
    return () => {
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    };
  }

  get size(): number {
    return this.entries.length;
  }

  /** What would be undone, in the order it would be undone. */
  get pending(): string[] {
    return this.entries.map((e) => e.description).reverse();
  }

  /**
   * Run every undo, newest first. Safe to call twice at once (a second Ctrl-C while cleaning up): both callers
   * wait for the same single unwind.
   */
  unwind(onEach?: (report: UnwindReport) => void): Promise<UnwindReport[]> {
    this.unwinding ??= (async () => {
      const reports: UnwindReport[] = [];
      for (let entry = this.entries.pop(); entry; entry = this.entries.pop()) {
        const report: UnwindReport = { description: entry.description };
        try {
          await entry.undo();
        } catch (error) {
          report.error = error;
        }
        reports.push(report);
        onEach?.(report);
      }
      this.unwinding = undefined;
      return reports;
    })();
    return this.unwinding;
  }
}

/**
 * Run `fn` with a fresh stack and always unwind it afterwards. If `fn` failed, its error is what is thrown;
 * otherwise a failed undo is.
 */
export async function withCleanup<T>(fn: (stack: CleanupStack) => Promise<T>): Promise<T> {
  const stack = new CleanupStack();
  let result: T;
  try {
    result = await fn(stack);
  } catch (error) {
    await stack.unwind();
    throw error;
  }
  const failed = (await stack.unwind()).filter((r) => r.error !== undefined);
  if (failed.length > 0) {
    throw new AggregateError(
      failed.map((f) => f.error),
      `cleanup failed: ${failed.map((f) => f.description).join(', ')}`,
    );
  }
  return result;
}
