/**
 * jco's transpiled glue as a function a worker can call. In `instantiation: 'sync'` mode the glue
 * is an ES module with no imports of its own that exports `instantiate(getCoreModule, imports)`;
 * every capability comes from `imports`. A worker cannot import an ES module synchronously in the
 * middle of a job, so the module's two export statements are turned into a function's return, and
 * the function is made once per worker and component.
 */
import { hoistRuntime } from './glueRuntime';

export type CoreModuleGetter = (name: string) => WebAssembly.Module;
export type InstantiateCore = (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance;
export type Instantiate = (
  getCoreModule: CoreModuleGetter,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore?: InstantiateCore,
) => Record<string, unknown>;

const INSTANTIATE_EXPORT = /^export function instantiate\(/m;
const UTIL_EXPORT = /^export const _util = /m;

/**
 * Checks, at transpile time, that the glue has the shape `loadGlue` knows; a sentence when not
 * (a transpiler upgrade that changed it must not fail job by job).
 */
export function glueShapeProblem(source: string): string | undefined {
  const exportStatements = source.match(/^export\b/gm)?.length ?? 0;
  const known = (INSTANTIATE_EXPORT.test(source) ? 1 : 0) + (UTIL_EXPORT.test(source) ? 1 : 0);
  if (!INSTANTIATE_EXPORT.test(source) || exportStatements !== known || /^import\b/m.test(source)) {
    return 'the transpiled glue does not have the expected shape (one instantiate export, no imports)';
  }
  return undefined;
}

/**
 * The glue as a function. With its runtime evaluated once when glueRuntime.ts can account for it
 * (`runtimeHoisted`), else as jco wrote it: all of it evaluated at every instantiation.
 */
export function loadGlue(source: string): Instantiate & { runtimeHoisted: boolean } {
  const hoisted = hoistRuntime(source);
  if (hoisted !== undefined) {
    try {
      return Object.assign(glueFunction(hoisted)(GLUE_GLOBAL, GLUE_WEBASSEMBLY), { runtimeHoisted: true });
    } catch {
      // Not valid after all: the glue as it is.
    }
  }
  const body = source.replace(INSTANTIATE_EXPORT, 'function instantiate(').replace(UTIL_EXPORT, 'const _util = ');
  return Object.assign(glueFunction(`${body}\nreturn instantiate;`)(GLUE_GLOBAL, GLUE_WEBASSEMBLY), { runtimeHoisted: false });
}

function glueFunction(body: string): (global: object, wasm: object) => Instantiate {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the glue is jco's output, generated from the component's types, never guest text
  return new Function('globalThis', 'WebAssembly', body) as (global: object, wasm: object) => Instantiate;
}

/**
 * What the glue sees as `WebAssembly`: the real one, except that JSPI (`WebAssembly.promising`) is
 * absent in a way that costs nothing. Jobs block synchronously and never suspend; the glue tries
 * `promising` once per instantiation and falls back when it throws, and V8's own "is not a
 * function" TypeError re-parses the whole (10,000-line) instantiate function to word its message:
 * 5 ms of every run. A runtime that has JSPI (newer Electron) takes the same path as one without.
 */
const JSPI_ABSENT = new TypeError('WebAssembly.promising: jobs run synchronously, without JSPI');
const GLUE_WEBASSEMBLY: object = Object.create(WebAssembly, {
  promising: {
    value: () => {
      throw JSPI_ABSENT;
    },
  },
});

/**
 * What the glue sees as `globalThis`: the real one without `process`. The glue's debug log reads
 * `globalThis.process.env.JCO_DEBUG` a few times per host call (an environment lookup each time),
 * and would print a job's data to the agent's console if the agent's environment set it.
 */
const GLUE_GLOBAL: object = Object.create(globalThis, {
  process: { value: undefined },
  WebAssembly: { value: GLUE_WEBASSEMBLY },
});

/** The object behind the `wasi:cli/run` export (`run` or its versioned name). */
export function runExportOf(exports: Record<string, unknown>): { run(): void } {
  const key = Object.keys(exports).find((name) => name.startsWith('wasi:cli/run@')) ?? 'run';
  const run = exports[key] as { run?: () => void } | undefined;
  if (typeof run?.run !== 'function') throw new Error('the component exports no wasi:cli/run function');
  return run as { run(): void };
}
