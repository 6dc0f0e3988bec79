/**
 * Transpiles a component (jco-transpile, in a thread of its own: see transpileWorker.ts) into what
 * a job worker runs: the glue's source and the core modules' bytes. One transpile at a time, so
 * that uploads of big components never hold several generators in memory at once.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { glueShapeProblem } from './glue';

/** Built next to this file by both tsc (out/src/agent/runner/component/) and esbuild (dist/). */
const TRANSPILE_WORKER = path.join(__dirname, 'transpileWorker.js');

export interface Transpiled {
  /** The glue (an ES module exporting instantiate), see glue.ts. */
  glue: string;
  /** The core modules by the names the glue asks getCoreModule for. */
  coreModules: Record<string, Uint8Array>;
}

/** The component could not be transpiled: a sentence for its owner. */
export class TranspileError extends Error {
  override readonly name = 'TranspileError';
}

type WorkerAnswer = { ok: true; files: [string, Uint8Array][] } | { ok: false; message: string };

let queue: Promise<unknown> = Promise.resolve();

/**
 * How long one transpile may take before its thread is stopped: a 12.7 MB component takes ~0.4 s,
 * and transpiles run one at a time, so one that never ends would hold every later upload.
 */
const TRANSPILE_TIMEOUT_MS = 120_000;

export function transpileComponent(component: Uint8Array, workerScript = TRANSPILE_WORKER, timeoutMs = TRANSPILE_TIMEOUT_MS): Promise<Transpiled> {
  const next = queue.then(() => transpileInWorker(component, workerScript, timeoutMs));
  queue = next.catch(() => undefined);
  return next;
}

async function transpileInWorker(component: Uint8Array, workerScript: string, timeoutMs: number): Promise<Transpiled> {
  const answer = await new Promise<WorkerAnswer>((resolve, reject) => {
    const worker = new Worker(workerScript, { workerData: component });
    const timer = setTimeout(() => {
      reject(new TranspileError(`jco-transpile did not finish within ${timeoutMs / 1000} s`));
      void worker.terminate();
    }, timeoutMs);
    worker.once('message', (message: WorkerAnswer) => {
      clearTimeout(timer);
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the transpiler thread stopped (exit code ${code}) before it answered`));
    });
  });
  if (!answer.ok) throw new TranspileError(`jco-transpile could not turn it into JavaScript: ${answer.message}`);
  return filesToTranspiled(answer.files);
}

export function filesToTranspiled(files: [string, Uint8Array][]): Transpiled {
  const glueFile = files.find(([name]) => name.endsWith('.js'));
  if (!glueFile) throw new TranspileError('jco-transpile produced no JavaScript glue');
  const glue = new TextDecoder().decode(glueFile[1]);
  const problem = glueShapeProblem(glue);
  if (problem) throw new TranspileError(problem);
  const coreModules: Record<string, Uint8Array> = {};
  for (const [name, bytes] of files) if (name.endsWith('.wasm')) coreModules[name] = bytes;
  return { glue, coreModules };
}
