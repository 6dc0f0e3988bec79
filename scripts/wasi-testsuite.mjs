#!/usr/bin/env node
// Runs WASI preview1 test programs laid out as WebAssembly/wasi-testsuite lays them out (one folder
// of NAME.wasm, each with an optional NAME.json spec: args, env, dirs or root, exit_code, stdout)
// through a fresh agent's HTTP API, and judges them as that suite's own runner does: the exit code
// must be the spec's (default 0), and stdout too when the spec names one.
//
//   npx tsc -p . && node esbuild.mjs
//   node scripts/wasi-testsuite.mjs FOLDER... [--filter SUBSTRING]
//
// Each test is published as a job (manifest, executable, and its directories as the version's
// files archive: a `dirs` entry becomes a top-level folder of the archive, so the job finds it
// both inside `/` and preopened under its own name; a `root` folder's contents become the archive
// root), then run once with the spec's args and env. Prints one line per test, then
// `N passed, N failed`; exits 1 when any failed. The agent gets a temporary storage folder.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const compiled = (module) => {
  try {
    return require(path.join(repoRoot, 'out', 'src', module));
  } catch {
    fail(`out/src/${module}.js is missing: run \`npx tsc -p .\` first`);
  }
};

function fail(message) {
  console.error(`wasi-testsuite: ${message}`);
  process.exit(2);
}

function parseArguments(argv) {
  const folders = [];
  let filter = '';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--filter') filter = argv[++i] ?? '';
    else folders.push(argv[i]);
  }
  if (folders.length === 0) fail('usage: node scripts/wasi-testsuite.mjs FOLDER... [--filter SUBSTRING]');
  return { folders, filter };
}

/** Starts `serval agent` on a free port; resolves to its URL and a stop function. */
async function startAgent(storage) {
  const cli = path.join(repoRoot, 'dist', 'cli.js');
  await stat(cli).catch(() => fail('dist/cli.js is missing: run `node esbuild.mjs` first'));
  const child = spawn(process.execPath, [cli, 'agent', '--port', '0', '--storage', storage], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      log += chunk;
      const match = /listening on (\S+)/.exec(log);
      if (match) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the agent stopped before listening (exit ${code}):\n${log}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return { url, stop };
}

async function readSpec(wasmPath) {
  const specPath = wasmPath.replace(/\.wasm$/, '.json');
  const text = await readFile(specPath, 'utf8').catch(() => undefined);
  const spec = text === undefined ? {} : JSON.parse(text);
  return {
    args: spec.args ?? [],
    env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
    dirs: spec.dirs ?? [],
    root: spec.root,
    exitCode: spec.exit_code ?? 0,
    stdout: spec.stdout,
  };
}

/** What a previous run left behind: the suite's own runner deletes these before each run. */
const isLeftover = (entry) => entry.path.split('/').some((part) => part.endsWith('.cleanup'));

/** The archive entries of a test's directories, or undefined when it has none. */
async function filesOf(folder, spec) {
  if (spec.root === undefined && spec.dirs.length === 0) return undefined;
  const { readFilesFolder } = compiled('files/folder');
  const entries = [];
  if (spec.root !== undefined) entries.push(...(await readFilesFolder(path.join(folder, spec.root))).entries);
  for (const dir of spec.dirs) {
    const inner = await readFilesFolder(path.join(folder, dir));
    entries.push({ kind: 'dir', path: dir, mtimeMs: Date.now() });
    for (const entry of inner.entries) entries.push({ ...entry, path: `${dir}/${entry.path}` });
  }
  return entries.filter((entry) => !isLeftover(entry));
}

function manifestOf(name, namespace) {
  return [
    `name = ${JSON.stringify(name)}`,
    `namespace = ${JSON.stringify(namespace)}`,
    'version = "1.0.0"',
    `binary = "${name}.wasm"`,
    'description = "wasi-testsuite test"',
    '',
  ].join('\n');
}

/** Publishes and runs one test; resolves to undefined when it passed, else to why it failed. */
async function runTest(client, namespace, folder, file) {
  const { writeTar } = compiled('files/tar');
  const name = file.replace(/\.wasm$/, '').replace(/[^A-Za-z0-9_-]/g, '_');
  const fqName = `${namespace}.${name.toLowerCase().replace(/-/g, '_')}`;
  const spec = await readSpec(path.join(folder, file));
  await client.storeManifest(manifestOf(name, namespace));
  await client.putExecutable(fqName, '1.0.0', await readFile(path.join(folder, file)));
  const files = await filesOf(folder, spec);
  if (files !== undefined) await client.putFiles(fqName, '1.0.0', writeTar(files));
  const result = await client.run(fqName, new Uint8Array(), { version: '1.0.0', args: spec.args, env: spec.env });
  const output = new TextDecoder().decode(result.output);
  if (result.exitCode !== spec.exitCode) {
    const how = result.exitCode === undefined ? `trapped (${result.trap ?? result.limit ?? 'no exit code'})` : `exit code ${result.exitCode}`;
    return `${how}, expected ${spec.exitCode}${output ? `: ${output.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
  }
  if (spec.stdout !== undefined && output !== spec.stdout) return `stdout ${JSON.stringify(output)}, expected ${JSON.stringify(spec.stdout)}`;
  return undefined;
}

/** The name in the folder's manifest.json (as the suite has), else the folder's path. */
async function suiteName(folder) {
  const text = await readFile(path.join(folder, 'manifest.json'), 'utf8').catch(() => undefined);
  return (text === undefined ? undefined : JSON.parse(text).name) ?? folder;
}

async function main() {
  const { folders, filter } = parseArguments(process.argv.slice(2));
  const { AgentClient } = compiled('client/index');
  const storage = await mkdtemp(path.join(tmpdir(), 'serval-wasi-testsuite-'));
  const agent = await startAgent(storage);
  const client = new AgentClient({ url: agent.url, timeoutMs: 60_000 });
  let passed = 0;
  let failed = 0;
  try {
    for (const [index, folder] of folders.entries()) {
      const suite = await suiteName(folder);
      const tests = (await readdir(folder)).filter((file) => file.endsWith('.wasm') && file.includes(filter)).sort();
      for (const file of tests) {
        const label = `${suite}: ${file.replace(/\.wasm$/, '')}`;
        let problem;
        try {
          problem = await runTest(client, `wasi.testsuite.suite${index + 1}`, folder, file);
        } catch (error) {
          problem = `could not be run: ${error instanceof Error ? error.message : String(error)}`;
        }
        if (problem === undefined) passed++;
        else failed++;
        console.log(problem === undefined ? `PASS ${label}` : `FAIL ${label}: ${problem}`);
      }
    }
  } finally {
    await agent.stop();
    await rm(storage, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
