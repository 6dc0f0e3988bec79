/**
 * Job memories reused, safely: one memory per module per thread, zeroed between jobs.
 *
 * Why: `new WebAssembly.Instance` with a memory of its own costs more than a small job (V8 reserves
 * and maps a guarded region, the kernel faults its pages in, and the external memory it accounts
 * for brings scavenges and mark-compacts: the p99). The runner rewrites each module to import its
 * memory (wasm/memoryImport.ts) and gives every instance one from here.
 *
 * Isolation, which must hold for every job: each job still gets a fresh instance (globals, tables,
 * data segments re-applied); the memory it gets held only jobs of the same module, and every byte
 * of it is zero before the instance is made; a memory that a job grew is dropped, not reused, so
 * neither its size nor its contents outlive the job. A worker that is terminated (time limit,
 * abort) takes its memories with it.
 */
import type { MemoryShape } from '../../wasm/memoryImport';

export type { MemoryShape };

/** Where a rewritten module finds its memory. */
export const MEMORY_IMPORT = { module: 'serval', name: 'memory' } as const;

const PAGE_BYTES = 65536;

interface Kept {
  memory: WebAssembly.Memory;
  /** Every byte is zero (no instance has been made on it since). */
  clean: boolean;
}

/** The memories of one thread's jobs, by module key. */
export class JobMemories<K> {
  private readonly kept = new Map<K, Kept>();

  /** A memory for a new instance of module `key`: all zero, of its initial size. */
  take(key: K, shape: MemoryShape): WebAssembly.Memory {
    let kept = this.kept.get(key);
    if (!kept) {
      kept = { memory: new WebAssembly.Memory(shape), clean: true };
      this.kept.set(key, kept);
    } else if (!kept.clean) {
      zero(kept.memory);
    }
    kept.clean = false;
    return kept.memory;
  }

  /** After a job of `key` (however it ended): a grown memory is dropped, the others zeroed now. */
  recycle(key: K, shape: MemoryShape): void {
    const kept = this.kept.get(key);
    if (!kept) return;
    if (kept.memory.buffer.byteLength > shape.initial * PAGE_BYTES) {
      this.kept.delete(key);
      return;
    }
    zero(kept.memory);
    kept.clean = true;
  }

  forget(key: K): void {
    this.kept.delete(key);
  }
}

function zero(memory: WebAssembly.Memory): void {
  new Uint8Array(memory.buffer).fill(0);
}

/** Import objects made by importsWithMemory, kept for the memory's next instances (it is reused). */
const withMemory = new WeakMap<WebAssembly.Memory, { imports: WebAssembly.Imports; made: WebAssembly.Imports }>();

/** The import object of `imports` plus `memory` where a rewritten module imports it. */
export function importsWithMemory(imports: WebAssembly.Imports, memory: WebAssembly.Memory): WebAssembly.Imports {
  const kept = withMemory.get(memory);
  if (kept?.imports === imports) return kept.made;
  const made = { ...imports, [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory } };
  withMemory.set(memory, { imports, made });
  return made;
}

/**
 * The memory shape of modules prepared on this thread, for runs on it (runInProcess). Modules
 * posted to a worker arrive as other objects: their shape travels in the message.
 */
const shapes = new WeakMap<WebAssembly.Module, MemoryShape>();

export function rememberMemoryShape(module: WebAssembly.Module, shape: MemoryShape): void {
  shapes.set(module, shape);
}

export function memoryShapeOf(module: WebAssembly.Module): MemoryShape | undefined {
  return shapes.get(module);
}
