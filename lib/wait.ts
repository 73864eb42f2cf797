/**
 * Waiting for something the host can only look at: a process became a zombie, a counter moved, a file appeared.
 * The kernel sends no event for these, so looking again every few milliseconds is the honest way; the timeout
 * only turns a hang into an error that says what never happened.
 */

const POLL_MS = 5;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting ${timeoutMs / 1000}s for ${what}`);
    await sleep(POLL_MS);
  }
}
