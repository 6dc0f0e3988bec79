// Bundles the three entry points that ship:
//   dist/extension.js  the VS Code extension (vscode is external, provided by the host)
//   dist/cli.js        the `serval` CLI, which also runs the agent (`serval agent`)
//   dist/jobWorker.js  the worker thread that runs one WASI job at a time
//   dist/checkWorker.js  the worker thread that checks uploaded manifests and modules
// The agent finds each worker next to the file it is bundled into, so the same
// relative path works from dist/ and from tsc's out/ tree.
import * as esbuild from 'esbuild';

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
];

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
