#!/usr/bin/env node
// `npm run demo:cluster` — N agents behind a load balancer, on one machine (docs/scaling.md):
//   a one-node Ceph RADOS Gateway (scripts/ceph/start.sh), three `serval agent --storage s3://…`
//   and Debian haproxy in front (round robin, health check GET /monitor/ping). Prints the
//   balancer's URL: point the CLI (`--agent URL` or SERVAL_NODE_URL) or the extension
//   (serval.agent.url) at it.
// `npm run demo:cluster -- stop` stops exactly what it started, by the pid files in its folder.
//
// Options: --dir DIR (default $SERVAL_CLUSTER_DIR or /tmp/serval-cluster-$USER), --agents N (3),
// --port P (balancer port, default 8180), --bucket B (serval), --prefix P (demo).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import haproxy from './haproxyConfig.cjs';

const { haproxyConfig } = haproxy;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string', default: process.env.SERVAL_CLUSTER_DIR || path.join(os.tmpdir(), `serval-cluster-${os.userInfo().username}`) },
    agents: { type: 'string', default: '3' },
    port: { type: 'string', default: '8180' },
    bucket: { type: 'string', default: 'serval' },
    prefix: { type: 'string', default: 'demo' },
  },
});
const dir = path.resolve(values.dir);
const cephDir = path.join(dir, 'ceph');
const say = (line) => process.stderr.write(`cluster: ${line}\n`);

const command = positionals[0] ?? 'start';
if (command === 'stop') await stop();
else if (command === 'start') await start();
else {
  say(`unknown command '${command}': use start (default) or stop`);
  process.exit(2);
}

async function start() {
  if (existsSync(path.join(dir, 'haproxy.pid'))) {
    say(`a cluster already runs from ${dir}; stop it first: npm run demo:cluster -- stop`);
    process.exit(1);
  }
  for (const tool of ['haproxy', 'radosgw', 'ceph-mon', 'ceph-osd']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      say(`${tool} is missing: apt-get install -y radosgw ceph-mon ceph-osd haproxy`);
      process.exit(1);
    }
  }
  const cli = path.join(root, 'dist', 'cli.js');
  if (!existsSync(cli)) {
    say('dist/cli.js is missing: run npm run build first');
    process.exit(1);
  }
  mkdirSync(dir, { recursive: true });
  try {
    const ceph = spawnSync('bash', [path.join(root, 'scripts', 'ceph', 'start.sh'), cephDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    if (ceph.status !== 0) throw new Error('the Ceph object store did not start');
    const env = { ...process.env, ...readEnvFile(path.join(cephDir, 'env')) };
    const storage = `s3://${values.bucket}/${values.prefix}`;
    const agents = [];
    for (let i = 1; i <= Number(values.agents); i++) agents.push(await startAgent(i, cli, storage, env));
    const url = await startBalancer(agents);
    writeFileSync(path.join(dir, 'cluster.env'), `export SERVAL_NODE_URL=${url}\n`);
    say(`${agents.length} agents on ${storage} (${env.AWS_ENDPOINT_URL}) behind haproxy`);
    say(`balancer: ${url}   e.g. node dist/cli.js --agent ${url} list`);
    say(`stop with: npm run demo:cluster -- stop${values.dir ? ` --dir ${dir}` : ''}`);
    process.stdout.write(`${url}\n`);
  } catch (error) {
    say(`${error.message}; stopping what was started`);
    await stop();
    process.exit(1);
  }
}

/** Starts one agent detached, its log in DIR/agent-N.log; resolves with its URL once it listens. */
async function startAgent(index, cli, storage, env) {
  const log = path.join(dir, `agent-${index}.log`);
  const out = path.join(dir, `agent-${index}.out`);
  const [logFd, outFd] = [openSync(log, 'w'), openSync(out, 'w')];
  const child = spawn(process.execPath, [cli, 'agent', '--port', '0', '--storage', storage, '--s3-cache', path.join(dir, `cache-${index}`)], {
    env,
    detached: true,
    stdio: ['ignore', outFd, logFd],
  });
  closeSync(logFd);
  closeSync(outFd);
  writeFileSync(path.join(dir, `agent-${index}.pid`), `${child.pid}\n`);
  child.unref();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const match = /listening on (http:\/\/\S+)/.exec(readFileSync(out, 'utf8'));
    if (match) {
      say(`agent ${index} listening on ${match[1]} (pid ${child.pid}, log ${log})`);
      return match[1];
    }
    if (child.exitCode !== null || !isAlive(child.pid)) throw new Error(`agent ${index} exited: ${readFileSync(log, 'utf8').trim().split('\n').pop()}`);
    await sleep(50);
  }
  throw new Error(`agent ${index} did not listen within 20 s (see ${log})`);
}

async function startBalancer(agentUrls) {
  const port = Number(values.port);
  const config = haproxyConfig({
    port,
    agentUrls,
    pidFile: path.join(dir, 'haproxy.pid'),
    checkEveryMs: 500,
    failAfter: 2,
    timeouts: { connect: '2s', client: '60s', server: '60s' },
    logToStderr: true,
  });
  const configFile = path.join(dir, 'haproxy.cfg');
  writeFileSync(configFile, config);
  const check = spawnSync('haproxy', ['-c', '-q', '-f', configFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refused its configuration: ${check.stderr.trim()}`);
  const started = spawnSync('haproxy', ['-D', '-f', configFile, '-p', path.join(dir, 'haproxy.pid')], { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`haproxy did not start: ${started.stderr.trim() || 'port in use? pick another with --port'}`);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const answer = await fetch(`${url}/monitor/ping`).catch(() => undefined);
    if (answer?.ok) return url;
    await sleep(100);
  }
  throw new Error(`the balancer at ${url} did not answer /monitor/ping within 10 s`);
}

async function stop() {
  for (const file of ['haproxy.pid', ...agentPidFiles()]) await stopByPidFile(path.join(dir, file));
  if (existsSync(cephDir)) spawnSync('bash', [path.join(root, 'scripts', 'ceph', 'stop.sh'), cephDir], { stdio: 'inherit' });
  say(`stopped what ran from ${dir}`);
}

function agentPidFiles() {
  const files = [];
  for (let i = 1; existsSync(path.join(dir, `agent-${i}.pid`)); i++) files.push(`agent-${i}.pid`);
  return files;
}

async function stopByPidFile(file) {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  rmSync(file);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readEnvFile(file) {
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^export ([A-Z_0-9]+)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  return env;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
