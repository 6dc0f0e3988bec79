import * as assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';

const REPO = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../..' : '../..');
const CLI = path.join(REPO, 'dist', 'cli.js');
const LOUDIFY_MANIFEST = path.join(REPO, 'samples', 'loudify', 'manifest.toml');
const FAIL_MANIFEST = path.join(REPO, 'samples', 'fail', 'manifest.toml');
const COMPONENT_MANIFEST = path.join(REPO, 'samples', 'loudify-component', 'manifest.toml');
const SOCKETS_COMPONENT = path.join(REPO, 'test', 'fixtures', 'components', 'sockets.component.wasm');

/** dist/cli.js and dist/jobWorker.js (found next to it), bundled with esbuild's API when missing. */
async function ensureBundle(): Promise<void> {
  if (existsSync(CLI) && existsSync(path.join(REPO, 'dist', 'jobWorker.js')) && existsSync(path.join(REPO, 'dist', 'checkWorker.js'))) return;
  const esbuild = await import('esbuild');
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', outdir: path.join(REPO, 'dist'), logLevel: 'warning' } as const;
  await esbuild.build({ ...common, entryPoints: { cli: path.join(REPO, 'src/cli/main.ts') }, banner: { js: '#!/usr/bin/env node' } });
  await esbuild.build({ ...common, entryPoints: { jobWorker: path.join(REPO, 'src/agent/runner/jobWorker.ts') } });
  await esbuild.build({ ...common, entryPoints: { checkWorker: path.join(REPO, 'src/agent/checks/checkWorker.ts') } });
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ARGS` to its end, with `input` on stdin. */
function serval(args: string[], options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Outcome> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, SERVAL_NODE_URL: '', SERVAL_AGENT_TOKEN: '', ...options.env },
  });
  child.stdin.end(options.input ?? '');
  return collect(child);
}

function collect(child: ChildProcessWithoutNullStreams): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Spawns `serval agent --port 0` and waits for its one `listening on URL` line. */
async function spawnAgent(
  storage: string,
  extraArgs: string[] = [],
  { ipc = false } = {},
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; firstLine: string }> {
  const stdio: StdioOptions = ipc ? ['pipe', 'pipe', 'pipe', 'ipc'] : 'pipe';
  const child = spawn(process.execPath, [CLI, 'agent', '--port', '0', '--storage', storage, ...extraArgs], {
    env: { ...process.env, SERVAL_AGENT_TOKEN: '' },
    stdio,
  }) as ChildProcessWithoutNullStreams;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline === -1) return;
      child.stdout.off('data', onData);
      resolve(stdout.slice(0, newline));
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serval agent exited with ${code} before listening: ${stderr}`)));
  });
  const url = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(firstLine)?.[1];
  assert.ok(url, `unexpected first line: ${firstLine}`);
  return { child, url, firstLine };
}

/** Runs `serval ARGS` in this process with in-memory streams. */
async function servalInProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIo = { stdin, stdout, stderr, env, cwd: REPO };
  const code = await runCli(args, io, new AbortController().signal);
  return { code, stdout: stdout.read()?.toString() ?? '', stderr: stderr.read()?.toString() ?? '' };
}

describe('serval CLI: arguments and local checks', () => {
  it('lists its commands and exit codes in --help', async () => {
    const { code, stdout } = await servalInProcess(['--help']);
    assert.equal(code, 0);
    for (const command of ['agent', 'store', 'run', 'list', 'versions', 'ping']) assert.match(stdout, new RegExp(`^  ${command} `, 'm'));
    assert.match(stdout, /124 +the job ran past/);
  });

  it('prints each command\'s own help', async () => {
    const { code, stdout } = await servalInProcess(['run', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: serval run NAME \[INPUT\] \[OUTPUT\]/);
  });

  it('prints its version', async () => {
    const { code, stdout } = await servalInProcess(['--version']);
    assert.equal(code, 0);
    assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('exits 2 with a one-line message on usage errors', async () => {
    for (const args of [['frobnicate'], ['run'], ['list', '--bogus'], ['agent', '--port', 'eighty'], []]) {
      const { code, stderr } = await servalInProcess(args);
      assert.equal(code, 2, `serval ${args.join(' ')}: ${stderr}`);
      if (args.length > 0) assert.match(stderr, /^serval: .+\(see `serval .*--help`\)\n$/);
    }
  });

  it('exits 5 and prints problems as file:line:col: message for an invalid manifest', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-'));
    try {
      await writeFile(path.join(folder, 'manifest.toml'), 'name = "loudify"\nnamespace = "sh..serval"\nversion = "1"\nbinary = "x.wasm"\ndescription = "d"\n');
      const { code, stderr } = await servalInProcess(['store', path.join(folder, 'manifest.toml')]);
      assert.equal(code, 5);
      assert.match(stderr, new RegExp(`^${path.join(folder, 'manifest.toml')}:2:\\d+: .*namespace`, 'm'));
      assert.match(stderr, /not stored: fix the error above/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('exits 5 when the binary of the manifest is missing', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-'));
    try {
      await copyFile(LOUDIFY_MANIFEST, path.join(folder, 'manifest.toml'));
      const { code, stderr } = await servalInProcess(['store', path.join(folder, 'manifest.toml')]);
      assert.equal(code, 5);
      assert.match(stderr, /its binary "loudify.wasm" does not exist .*build it first/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('exits 3 when no agent answers', async () => {
    const { code, stderr } = await servalInProcess(['ping', '--agent', 'http://127.0.0.1:9']);
    assert.equal(code, 3);
    assert.match(stderr, /^serval: no agent answers at http:\/\/127\.0\.0\.1:9 .*serval agent/);
  });
});

describe('serval CLI end to end: agent, store, run', function () {
  this.timeout(60_000);
  let storage: string;
  let agent: Awaited<ReturnType<typeof spawnAgent>>;
  const withAgent = (args: string[], input?: string) => serval([...args, '--agent', agent.url], { input });

  before(async () => {
    await ensureBundle();
    storage = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-storage-'));
    agent = await spawnAgent(storage, ['--job-timeout-ms', '1000']);
  });
  after(async () => {
    if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
    if (storage) await rm(storage, { recursive: true, force: true });
  });

  it('prints exactly one line, listening on the real address', () => {
    assert.match(agent.firstLine, /^listening on http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  });

  it('stores the loudify sample and prints its name, version and integrity', async () => {
    const { code, stdout, stderr } = await withAgent(['store', path.relative(REPO, LOUDIFY_MANIFEST)]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^stored sh\.serval\.loudify 1\.0\.0 sha256-[A-Za-z0-9+/]+=*\n$/);
  });

  it('runs it on stdin and prints HELLO', async () => {
    const { code, stdout } = await withAgent(['run', 'sh.serval.loudify'], 'hello\n');
    assert.equal(code, 0);
    assert.equal(stdout, 'HELLO\n');
  });

  it('runs it from an input file into an output file', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-io-'));
    try {
      await writeFile(path.join(folder, 'in.txt'), 'quiet words');
      const { code, stdout } = await withAgent(['run', 'sh.serval.loudify', path.join(folder, 'in.txt'), path.join(folder, 'out.txt')]);
      assert.equal(code, 0);
      assert.equal(stdout, '');
      assert.equal(await readFile(path.join(folder, 'out.txt'), 'utf8'), 'QUIET WORDS');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("exits with a failing job's code and shows its stderr", async () => {
    assert.equal((await withAgent(['store', FAIL_MANIFEST])).code, 0);
    const { code, stdout, stderr } = await withAgent(['run', 'sh.serval.fail'], 'abc');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /^fail: refusing 3 bytes of input on purpose/);
  });

  it('lists the stored jobs and their versions, and pings', async () => {
    const list = await withAgent(['list']);
    assert.equal(list.stdout, 'sh.serval.fail\nsh.serval.loudify\n');
    const versions = await withAgent(['versions', 'sh.serval.loudify']);
    assert.equal(versions.code, 0);
    assert.match(versions.stdout, /^VERSION +SIZE +STORED +INTEGRITY\n1\.0\.0 +\d+ +\S+ +sha256-/);
    const ping = await withAgent(['ping']);
    assert.match(ping.stdout, new RegExp(`^pong from ${agent.url} in \\d+ ms\n$`));
  });
  it('stores and runs a WASI 0.2 component (the loudify-component sample) as it does a module', async () => {
    const stored = await withAgent(['store', COMPONENT_MANIFEST]);
    assert.equal(stored.code, 0, stored.stderr);
    assert.match(stored.stdout, /^stored sh\.serval\.loudify_component 1\.0\.0 sha256-/);
    const { code, stdout } = await withAgent(['run', 'sh.serval.loudify_component'], 'component\n');
    assert.equal(code, 0);
    assert.equal(stdout, 'COMPONENT\n');
  });

  it('says which interfaces the agent does not host when it refuses a component (exit 5)', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-sockets-'));
    try {
      await writeFile(path.join(folder, 'manifest.toml'), 'name = "sockets"\nnamespace = "test.serval"\nversion = "1.0.0"\nbinary = "sockets.wasm"\ndescription = "imports sockets"\n');
      await copyFile(SOCKETS_COMPONENT, path.join(folder, 'sockets.wasm'));
      const { code, stderr } = await withAgent(['store', path.join(folder, 'manifest.toml')]);
      assert.equal(code, 5);
      assert.match(stderr, /wasi:sockets\/tcp@0\.2\.0.*does not host/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('stores a manifest with a files folder, and runs it with --arg, --env and everything after --', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-files-'));
    try {
      await copyFile(path.join(REPO, 'test/fixtures/wasi-programs/files.wasm'), path.join(folder, 'files.wasm'));
      await writeFile(
        path.join(folder, 'manifest.toml'),
        'name = "files"\nnamespace = "test.cli"\nversion = "1.0.0"\nbinary = "files.wasm"\ndescription = "d"\nfiles = "data"\n',
      );
      const { mkdir, symlink } = await import('node:fs/promises');
      await mkdir(path.join(folder, 'data', 'sub'), { recursive: true });
      await writeFile(path.join(folder, 'data', 'hello.txt'), 'hello files');
      await writeFile(path.join(folder, 'data', 'sub', 'nested.txt'), 'nested');
      await symlink('hello.txt', path.join(folder, 'data', 'link-to-hello'));
      const stored = await withAgent(['store', path.join(folder, 'manifest.toml')]);
      assert.equal(stored.code, 0, stored.stderr);
      assert.match(stored.stdout, /^stored test\.cli\.files 1\.0\.0 sha256-\S+ files sha256-\S+\n$/);
      const run = await serval(['run', 'test.cli.files', '--agent', agent.url, '--arg', 'one', '--env', 'A=1', '--', '--two', 'three']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^argv\[0\]=test\.cli\.files\nargv\[1\]=one\nargv\[2\]=--two\nargv\[3\]=three\nenv A=1\nlist \/: hello\.txt link-to-hello sub\n/);
      assert.match(run.stdout, /read link-to-hello: hello files\n/);
      const badEnv = await serval(['run', 'test.cli.files', '--agent', agent.url, '--env', 'NOVALUE']);
      assert.equal(badEnv.code, 2);
      assert.match(badEnv.stderr, /--env takes KEY=VALUE/);
      await rm(path.join(folder, 'data'), { recursive: true });
      const missing = await withAgent(['store', path.join(folder, 'manifest.toml')]);
      assert.equal(missing.code, 5);
      assert.match(missing.stderr, /its files folder "data" does not exist/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('exits 4 for a job that does not exist', async () => {
    const { code, stderr } = await withAgent(['run', 'sh.serval.nothing'], '');
    assert.equal(code, 4);
    assert.match(stderr, /^serval: .+\n$/);
  });

  it('finds the agent through SERVAL_NODE_URL', async () => {
    const { code, stdout } = await serval(['list'], { env: { SERVAL_NODE_URL: agent.url } });
    assert.equal(code, 0);
    assert.match(stdout, /sh\.serval\.loudify/);
  });

  it('says so when the port is taken by another agent', async () => {
    const port = new URL(agent.url).port;
    const otherStorage = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-storage-'));
    const { code, stdout, stderr } = await serval(['agent', '--port', port, '--storage', otherStorage]);
    await rm(otherStorage, { recursive: true, force: true });
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`^serval: port ${port} on 127\\.0\\.0\\.1 is already in use: .*--port`, 'm'));
  });

  it('stops with exit code 0 when the parent that forked it goes away (its IPC channel closes)', async () => {
    const storage = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-storage-'));
    const forked = await spawnAgent(storage, [], { ipc: true });
    try {
      const exited = new Promise<number | null>((resolve) => forked.child.once('exit', (code) => resolve(code)));
      forked.child.disconnect();
      assert.equal(await exited, 0);
    } finally {
      await rm(storage, { recursive: true, force: true });
    }
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => agent.child.once('exit', (code) => resolve(code)));
    agent.child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

describe('serval CLI end to end: a token', function () {
  this.timeout(30_000);

  it('needs the token the agent was started with (exit 6), and works with it', async () => {
    await ensureBundle();
    const storage = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-storage-'));
    const agent = await spawnAgent(storage, ['--token', 'hunter2']);
    try {
      const refused = await serval(['list', '--agent', agent.url]);
      assert.equal(refused.code, 6);
      assert.equal(refused.stderr, 'serval: the agent needs a token: give it with --token T or SERVAL_AGENT_TOKEN\n', 'the CLI names its flag and variable, not an HTTP header');
      const wrong = await serval(['list', '--agent', agent.url, '--token', 'nope']);
      assert.equal(wrong.stderr, 'serval: the agent refused the token: give the one it was started with, with --token T or SERVAL_AGENT_TOKEN\n');
      const allowed = await serval(['list', '--agent', agent.url], { env: { SERVAL_AGENT_TOKEN: 'hunter2' } });
      assert.equal(allowed.code, 0, allowed.stderr);
      const ping = await serval(['ping', '--agent', agent.url]);
      assert.equal(ping.code, 6, 'a ping without the token is not a "pong": the agent would refuse every other request');
      assert.equal(ping.stderr, `serval: ${agent.url} answers, but the agent needs a token: give it with --token T or SERVAL_AGENT_TOKEN\n`);
      const pingWithToken = await serval(['ping', '--agent', agent.url, '--token', 'hunter2']);
      assert.equal(pingWithToken.code, 0, pingWithToken.stderr);
    } finally {
      const exited = new Promise((resolve) => agent.child.once('exit', resolve));
      agent.child.kill('SIGTERM');
      await exited;
      await rm(storage, { recursive: true, force: true });
    }
  });
});

describe('serval CLI: help and names', function () {
  it('has a help command: the overview, or one command\'s help', async () => {
    const overview = await servalInProcess(['help']);
    assert.equal(overview.code, 0);
    assert.match(overview.stdout, /^Usage: serval COMMAND/);
    const store = await servalInProcess(['help', 'store']);
    assert.equal(store.code, 0);
    assert.match(store.stdout, /^Usage: serval store MANIFEST/);
  });

  it('suggests the command meant by a typo, with exit code 2', async () => {
    const typo = await servalInProcess(['lst']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /^serval: unknown command "lst"; did you mean "list"\?/);
    const unknown = await servalInProcess(['frobnicate']);
    assert.doesNotMatch(unknown.stderr, /did you mean/);
  });

  it('refuses a job name that cannot be one with exit code 2, before asking any agent', async () => {
    const outcome = await servalInProcess(['run', 'not a name', '--agent', 'http://127.0.0.1:9']);
    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /^serval: "not a name" is not a job name: fully-qualified name must be namespace\.name/);
    const versions = await servalInProcess(['versions', 'nodot', '--agent', 'http://127.0.0.1:9']);
    assert.equal(versions.code, 2);
  });
});

describe('serval CLI end to end: a stored version keeps its bytes', function () {
  this.timeout(30_000);

  it('refuses to replace a version with other bytes unless --force, and stores the same bytes again', async () => {
    await ensureBundle();
    const storage = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-storage-'));
    const job = await mkdtemp(path.join(os.tmpdir(), 'serval-cli-job-'));
    const agent = await spawnAgent(storage);
    try {
      await copyFile(LOUDIFY_MANIFEST, path.join(job, 'manifest.toml'));
      await copyFile(path.join(REPO, 'samples', 'loudify', 'loudify.wasm'), path.join(job, 'loudify.wasm'));
      const manifest = path.join(job, 'manifest.toml');
      assert.equal((await serval(['store', manifest, '--agent', agent.url])).code, 0);
      assert.equal((await serval(['store', manifest, '--agent', agent.url])).code, 0, 'the same bytes again are fine');

      await copyFile(path.join(REPO, 'samples', 'fail', 'fail.wasm'), path.join(job, 'loudify.wasm'));
      const refused = await serval(['store', manifest, '--agent', agent.url]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /sh\.serval\.loudify 1\.0\.0 is already stored with other bytes \(sha256-[^)]+\); bump `version` in the manifest, or pass --force to replace it\n$/);
      const run = await serval(['run', 'sh.serval.loudify', '--agent', agent.url], { input: 'still' });
      assert.equal(run.stdout, 'STILL', 'the stored version was not replaced');

      const forced = await serval(['store', manifest, '--agent', agent.url, '--force']);
      assert.equal(forced.code, 0, forced.stderr);
    } finally {
      const exited = new Promise((resolve) => agent.child.once('exit', resolve));
      agent.child.kill('SIGTERM');
      await exited;
      await rm(storage, { recursive: true, force: true });
      await rm(job, { recursive: true, force: true });
    }
  });
});
