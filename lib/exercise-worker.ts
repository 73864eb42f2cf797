/**
 * The worker thread that holds a learner's exercise file (see exercise-sandbox.ts): it imports the file, says
 * which functions it exports, then answers each call on the port it is given and raises the shared flag.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

interface Call {
  name: string;
  args: unknown[];
  flag: Int32Array;
  port: MessagePort;
}

const { file } = workerData as { file: string };
const port = parentPort;

function errorOf(e: unknown): { message: string; stack?: string } {
  return e instanceof Error ? { message: e.message, stack: e.stack } : { message: String(e) };
}

try {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const exported = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
  port?.postMessage({ exported });
  port?.on('message', (call: Call) => {
    try {
      const fn = mod[call.name] as (...args: unknown[]) => unknown;
      call.port.postMessage({ ok: true, value: fn(...call.args) });
    } catch (e) {
      call.port.postMessage({ ok: false, error: errorOf(e) });
    }
    Atomics.store(call.flag, 0, 1);
    Atomics.notify(call.flag, 0);
  });
} catch (e) {
  port?.postMessage({ error: errorOf(e) });
}
