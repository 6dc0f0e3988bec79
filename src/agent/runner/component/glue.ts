/**
 * jco's transpiled glue as a function a worker can call. In `instantiation: 'sync'` mode the glue
 * is an ES module with no imports of its own that exports `instantiate(getCoreModule, imports)`;
 * every capability comes from `imports`. A worker cannot import an ES module synchronously in the
 * middle of a job, so the module's two export statements are turned into a function's return, and
 * the function is made once per worker and component.
 */

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

export function loadGlue(source: string): Instantiate {
  const body = source.replace(INSTANTIATE_EXPORT, 'function instantiate(').replace(UTIL_EXPORT, 'const _util = ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the glue is jco's output, generated from the component's types, never guest text
  return new Function(`${body}\nreturn instantiate;`)() as Instantiate;
}

/** The object behind the `wasi:cli/run` export (`run` or its versioned name). */
export function runExportOf(exports: Record<string, unknown>): { run(): void } {
  const key = Object.keys(exports).find((name) => name.startsWith('wasi:cli/run@')) ?? 'run';
  const run = exports[key] as { run?: () => void } | undefined;
  if (typeof run?.run !== 'function') throw new Error('the component exports no wasi:cli/run function');
  return run as { run(): void };
}
