// Bundles the three entry points that ship:
//   dist/extension.js  the VS Code extension (vscode is external, provided by the host)
//   dist/cli.js        the `serval` CLI, which also runs the agent (`serval agent`)
//   dist/jobWorker.js  the worker thread that runs one WASI job at a time
//   dist/checkWorker.js  the worker thread that checks uploaded manifests and modules
//   dist/transpileWorker.js  the thread that transpiles a component (jco-transpile's generator,
//                      copied as is to dist/jco-transpile/: it loads its core wasm at run time)
// The agent finds each worker next to the file it is bundled into, so the same
// relative path works from dist/ and from tsc's out/ tree.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const builds = [
  { ...common, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist', external: ['vscode'] },
  { ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: { jobWorker: 'src/agent/runner/jobWorker.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { checkWorker: 'src/agent/checks/checkWorker.ts' }, outdir: 'dist' },
  { ...common, entryPoints: { transpileWorker: 'src/agent/runner/component/transpileWorker.ts' }, outdir: 'dist' },
];

/**
 * Only jco-transpile's bindings generator ships (js + two core wasm, ~4 MB): not its optimizer
 * (binaryen, 93 MB), minifier or WASI shims, which the agent never uses.
 */
function copyTranspiler() {
  const require = createRequire(import.meta.url);
  const vendor = path.dirname(require.resolve('@bytecodealliance/jco-transpile/component'));
  const target = path.join('dist', 'jco-transpile');
  mkdirSync(target, { recursive: true });
  for (const file of ['js-component-bindgen-component.js', 'js-component-bindgen-component.core.wasm', 'js-component-bindgen-component.core2.wasm']) {
    copyFileSync(path.join(vendor, file), path.join(target, file));
  }
  for (const file of ['package.json', 'LICENSE']) copyFileSync(path.join(vendor, '..', file), path.join(target, file));
}

copyTranspiler();

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
