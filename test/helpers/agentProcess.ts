/**
 * A tiny agent process for crash tests: `node agentProcess.js <storageDir>` starts an agent on that
 * folder and prints `listening on <url>` on stdout. Tests SIGKILL it mid-request.
 */
import { startAgent } from '../../src/agent';
import { DEFAULT_JOB_LIMITS } from '../../src/agent/runner/types';

const storageDir = process.argv[2];
if (!storageDir) {
  process.stderr.write('usage: node agentProcess.js <storageDir>\n');
  process.exit(2);
}

startAgent({
  host: '127.0.0.1',
  port: 0,
  storageDir,
  allowHosts: [],
  limits: DEFAULT_JOB_LIMITS,
  maxBodyBytes: 64 * 1024 * 1024,
  workers: 1,
  log: () => undefined,
}).then(
  (agent) => process.stdout.write(`listening on ${agent.url}\n`),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
