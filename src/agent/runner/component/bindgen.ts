/**
 * Loads jco's bindings generator (`@bytecodealliance/jco-transpile/component`: a component itself,
 * transpiled to JS + core wasm) and runs it. Only the transpile worker (transpileWorker.ts) calls
 * this, so the generator's memory goes away with that thread.
 *
 * The generator's own WASI imports come from `@bytecodealliance/preview2-shim`, which grants the
 * host's environment, filesystem and network. We do not load it: the generator's import lines are
 * rewritten to take our own deny-by-default host (host.ts), with no environment, no files, and its
 * stdout and stderr kept in memory.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ComponentHost } from './host';
import { MemorySink } from '../wasi';

/** The pinned version, recorded with every cached transpile. */
export const TRANSPILER_PACKAGE = '@bytecodealliance/jco-transpile';
const GENERATOR_FILE = 'js-component-bindgen-component.js';
/** Where esbuild.mjs copies the generator in a packaged build (dist/jco-transpile/). */
const PACKAGED_DIR = path.join(__dirname, 'jco-transpile');
const HOST_GLOBAL = '__servalTranspilerHost';

export interface GeneratedFiles {
  /** file name → contents: `component.js` (the glue) and `component.coreN.wasm` (core modules). */
  files: [string, Uint8Array][];
}

interface Generator {
  $init: Promise<void>;
  generate(component: Uint8Array, options: Record<string, unknown>): { files: [string, Uint8Array][]; imports: string[]; exports: unknown[] };
}

/** The folder holding the generator (js + core wasm) and the version of the package it is from. */
export function transpilerLocation(): { dir: string; version: string } {
  const packaged = path.join(PACKAGED_DIR, 'package.json');
  try {
    return { dir: PACKAGED_DIR, version: (JSON.parse(readFileSync(packaged, 'utf8')) as { version: string }).version };
  } catch {
    // Its exports map names ./component (the generator), not ./package.json.
    const dir = path.dirname(require.resolve(`${TRANSPILER_PACKAGE}/component`, { paths: [__dirname] }));
    const packageJson = path.join(dir, '..', 'package.json');
    return { dir, version: (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version };
  }
}

/** jco's transpile options for a job: sync instantiation, no WASI shim, no optimizer (binaryen). */
const GENERATE_OPTIONS = {
  name: 'component',
  map: [],
  instantiation: { tag: 'sync' },
  importBindings: undefined,
  validLiftingOptimization: false,
  tracing: false,
  noComponentErrorWrapping: true,
  noNodejsCompat: true,
  noTypescript: true,
  tlaCompat: false,
  base64Cutoff: 0,
  noNamespacedExports: false,
  multiMemory: false,
  strict: false,
};

export async function generateBindings(component: Uint8Array): Promise<GeneratedFiles> {
  const generator = await loadGenerator();
  await generator.$init;
  const generated = generator.generate(component, GENERATE_OPTIONS);
  return { files: generated.files };
}

async function loadGenerator(): Promise<Generator> {
  const { dir } = transpilerLocation();
  const file = path.join(dir, GENERATOR_FILE);
  const source = rewriteShimImports(readFileSync(file, 'utf8'), pathToFileURL(file).href);
  (globalThis as Record<string, unknown>)[HOST_GLOBAL] = shimNamespaces();
  // A data: URL keeps it an ES module (its exports, its own dynamic imports of node:fs) without a file.
  return (await importModule(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`)) as Generator;
}

/** A real import(): tsc's CommonJS output would turn a literal one into require(), which cannot load ES modules. */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** `import { a, b as c } from '@bytecodealliance/preview2-shim/cli';` → `const { a, b: c } = host.cli;` */
function rewriteShimImports(source: string, fileUrl: string): string {
  let rewritten = 0;
  const result = source
    .replace(/^import \{([^}]*)\} from '@bytecodealliance\/preview2-shim\/(\w+)';$/gm, (_, names: string, group: string) => {
      rewritten++;
      return `const {${names.replace(/\bas\b/g, ':')}} = globalThis.${HOST_GLOBAL}.${group};`;
    })
    .replace(/\bimport\.meta\.url\b/g, JSON.stringify(fileUrl));
  if (rewritten === 0 || /^import\b/m.test(result)) throw new Error(`${TRANSPILER_PACKAGE}: its generator's imports changed; update bindgen.ts`);
  return result;
}

/** Our host's interfaces under the names preview2-shim exports them by (cli.terminalInput, io.streams …). */
function shimNamespaces(): Record<string, Record<string, unknown>> {
  const host = new ComponentHost(new MemorySink(1 << 20), new MemorySink(1 << 20));
  host.beginRun({ stdin: new Uint8Array(0), args: ['jco-transpile'], env: [] });
  const groups: Record<string, Record<string, unknown>> = {};
  for (const [name, members] of Object.entries(host.imports)) {
    const match = /^wasi:(\w+)\/([\w-]+)$/.exec(name)!;
    const group = match[1]!;
    const member = match[2]!.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    (groups[group] ??= {})[member] = members;
  }
  // preview2-shim calls wasi:cli/exit "exit" and wasi:io/error "error", as the interfaces are named.
  return groups;
}
