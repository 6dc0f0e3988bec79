/**
 * Checks of uploaded bodies off the main thread: one worker thread, started on first use and
 * kept (unref'd: it never keeps the process alive). Without its script (a damaged install) the
 * checks run in place, logged once. A worker that dies refuses the uploads it was checking (a
 * module that kills a thread is not retried on the main thread) and the next check starts another.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { AgentLog } from '../types';
import { type CheckAnswer, type CheckRequest, type CheckVerdict, type ManifestVerdict, type RunDefaultsVerdict, type WasmVerdict, verdictOf } from './checks';

/** Built next to this file by tsc (out/src/agent/checks/) and next to cli.js by esbuild (dist/). */
const WORKER_SCRIPT = path.join(__dirname, 'checkWorker.js');

interface Pending {
  request: CheckRequest;
  resolve(verdict: CheckVerdict): void;
}

export class UploadChecks {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private inPlace: boolean;

  constructor(
    private readonly log: AgentLog,
    private readonly workerScript = WORKER_SCRIPT,
  ) {
    this.inPlace = !existsSync(workerScript);
    if (this.inPlace) this.log('warn', 'the check worker is missing: uploads are checked on the main thread', { script: workerScript });
  }

  manifest(bytes: Uint8Array): Promise<ManifestVerdict> {
    return this.check({ id: this.nextId++, kind: 'manifest', bytes }) as Promise<ManifestVerdict>;
  }

  /** A module in a file (an upload the store staged): the check worker reads and validates it. */
  wasmFile(file: string): Promise<WasmVerdict> {
    return this.check({ id: this.nextId++, kind: 'wasm-file', file }) as Promise<WasmVerdict>;
  }

  /** A stored manifest's run defaults (args, env, extensions), parsed off the main thread too. */
  runDefaults(bytes: Uint8Array): Promise<RunDefaultsVerdict> {
    return this.check({ id: this.nextId++, kind: 'run-defaults', bytes }) as Promise<RunDefaultsVerdict>;
  }

  /** Stops the worker; checks still pending are settled (uploads refused), never left hanging. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.settlePending('the agent stopped before it checked this upload; store it again');
    await worker?.terminate();
  }

  private check(request: CheckRequest): Promise<CheckVerdict> {
    if (this.inPlace) return Promise.resolve(verdictOf(request));
    const worker = this.started();
    return new Promise((resolve) => {
      this.pending.set(request.id, { request, resolve });
      worker.ref();
      // Bytes are copied over (the caller may still need them); a staged upload goes as its file's path.
      worker.postMessage(request);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerScript);
    worker.unref();
    worker.on('message', (answer: CheckAnswer) => {
      const pending = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (this.pending.size === 0) worker.unref();
      pending?.resolve(answer.verdict);
    });
    worker.on('error', (error) => this.lost(worker, error.message));
    worker.on('exit', (code) => this.lost(worker, `exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  /** The worker died (out of memory on a hostile module, say): its uploads are refused, later checks go to a new worker. */
  private lost(worker: Worker, cause: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.pending.size === 0) return;
    this.log('warn', 'the check worker stopped while checking uploads; they were refused', { cause });
    this.settlePending(`the agent could not check this upload: its check thread stopped (${cause}); store it again`);
  }

  /**
   * Uploads waiting for a verdict are refused with `message`. A stored manifest's run defaults are
   * parsed in place instead (it was checked when stored, and is at most --max-manifest-bytes):
   * an answer of "none" would run its jobs without their args, env and extensions.
   */
  private settlePending(message: string): void {
    for (const { request, resolve } of this.pending.values()) resolve(request.kind === 'run-defaults' ? verdictOf(request) : { ok: false, message });
    this.pending.clear();
  }
}
