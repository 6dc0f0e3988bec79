/**
 * Entry point of the transpile worker thread (bundled as dist/transpileWorker.js): turns one
 * component into jco's glue and core modules, posts them, and ends. A thread per transpile, so the
 * generator's compiled code and memory (tens of MB) are released as soon as it is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generateBindings } from './bindgen';

const port = parentPort;
if (!port) throw new Error('transpileWorker.js runs only as a worker thread of the agent');

generateBindings(workerData as Uint8Array).then(
  ({ files }) => port.postMessage({ ok: true, files }, files.map(([, bytes]) => bytes.buffer as ArrayBuffer)),
  (error: unknown) => port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) }),
);
