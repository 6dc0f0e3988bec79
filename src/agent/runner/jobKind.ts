/**
 * What a job may be, behind one interface: a WASI preview1 core module, or a WASI 0.2 component
 * (a `wasi:cli/command`), told apart by the header's layer bytes (src/wasm/layer.ts). Each kind
 * says why an upload cannot be stored and turns stored bytes into an Executable that the job
 * workers run (jobWorker.ts asks `isComponent` to pick the host). Everything else (the API, the
 * pool, limits, outcomes) is the same for both.
 */
import { wasmVerdict, type WasmVerdict } from '../checks/checks';
import { componentCommandProblems, inspectComponent } from '../../wasm/component';
import { WasmFormatError } from '../../wasm/errors';
import { wasmLayer, type WasmLayer } from '../../wasm/layer';
import type { ComponentCache } from './component/cache';
import { type ComponentExecutable, prepareComponent } from './component/prepare';
import { TranspileError } from './component/transpile';
import type { MemoryShape } from './jobMemory';
import { prepareJobModule } from './prepare';

/** What a worker runs: a compiled core module, or a component's glue and compiled core modules. */
export type Executable = WebAssembly.Module | ComponentExecutable;

export type PreparedExecutable =
  | {
      ok: true;
      executable: Executable;
      /** Instantiating it runs no guest code, so a worker may do it before the job (see jobWorker.ts). */
      instantiateAhead: boolean;
      /** Its size as wasm (all core modules of a component), what the compiled-module cache is bounded by. */
      bytes: number;
      /** A module's memory, reused between its jobs (jobMemory.ts); components instantiate their own. */
      memory?: MemoryShape;
      /** Import modules besides WASI that each run links (extensions; none for components). */
      extensionImports: string[];
      /** A small module's bytes, for a metered copy that may run on the agent's thread (mainThread.ts). */
      meterable?: Uint8Array;
    }
  | { ok: false; message: string };

export interface UploadContext {
  /** The content's integrity: components are transpiled once per key. */
  key: string;
  components: ComponentCache;
  /** How a module is validated (the agent: in its check worker); default here, on this thread. */
  validateModule?: (bytes: Uint8Array) => Promise<WasmVerdict>;
}

export interface PrepareContext extends UploadContext {
  memoryLimitBytes: number;
}

export interface JobKind {
  readonly name: WasmLayer;
  /** Why the agent refuses to store these bytes (HTTP 400 at upload); empty when it takes them. */
  uploadProblems(bytes: Uint8Array, context: UploadContext): Promise<string[]>;
  /** Stored bytes to an Executable, or why they cannot run (the outcome not-runnable). */
  prepare(bytes: Uint8Array, context: PrepareContext): Promise<PreparedExecutable>;
}

const moduleKind: JobKind = {
  name: 'module',
  async uploadProblems(bytes, context) {
    const verdict = context.validateModule ? await context.validateModule(bytes) : wasmVerdict(bytes);
    return verdict.ok ? [] : [verdict.message];
  },
  async prepare(bytes, context) {
    const prepared = await prepareJobModule(bytes, context.memoryLimitBytes);
    if (!prepared.ok) return prepared;
    const { module, hasStartSection, bytes: size, memory, extensionImports, meterable } = prepared;
    return { ok: true, executable: module, instantiateAhead: !hasStartSection, bytes: size, memory, extensionImports, meterable };
  },
};

const componentKind: JobKind = {
  name: 'component',
  async uploadProblems(bytes, context) {
    let problems: string[];
    try {
      problems = componentCommandProblems(inspectComponent(bytes));
    } catch (error) {
      if (error instanceof WasmFormatError) return [`the body is not a valid WebAssembly component: ${error.message}`];
      throw error;
    }
    if (problems.length > 0) return [`the component cannot run as a job. ${problems.join(' ')}`];
    // Transpiled now, once, so that the first run pays nothing and a component jco cannot handle is refused here.
    try {
      await context.components.transpiled(context.key, () => bytes);
    } catch (error) {
      if (error instanceof TranspileError) return [`the component cannot run as a job: ${error.message}`];
      throw error;
    }
    return [];
  },
  async prepare(bytes, context) {
    try {
      const problems = componentCommandProblems(inspectComponent(bytes));
      if (problems.length > 0) return { ok: false, message: problems.join(' ') };
      const transpiled = await context.components.transpiled(context.key, () => bytes);
      const prepared = await prepareComponent(transpiled, context.memoryLimitBytes);
      return prepared.ok ? { ok: true, executable: prepared.executable, instantiateAhead: false, bytes: prepared.bytes, extensionImports: [] } : prepared;
    } catch (error) {
      if (error instanceof WasmFormatError) return { ok: false, message: `It is not a valid WebAssembly component: ${error.message}` };
      if (error instanceof TranspileError) return { ok: false, message: `${error.message}.` };
      throw error;
    }
  },
};

export const JOB_KINDS: readonly JobKind[] = [moduleKind, componentKind];

/** The kind by the header; anything that is not a component is judged (and explained) as a module. */
export function jobKindOf(bytes: Uint8Array): JobKind {
  return wasmLayer(bytes) === 'component' ? componentKind : moduleKind;
}

export function isComponent(executable: Executable): executable is ComponentExecutable {
  return !(executable instanceof WebAssembly.Module);
}
