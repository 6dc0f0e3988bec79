/**
 * Entry point of the check worker thread (bundled as dist/checkWorker.js): checks uploaded
 * manifests and modules one at a time, so that parsing a 1 MiB manifest or validating a 60 MB
 * module never holds up the agent's event loop (pings, other requests, job time limits).
 */
import { parentPort } from 'node:worker_threads';
import { type CheckAnswer, type CheckRequest, verdictOf } from './checks';

const port = parentPort;
if (!port) throw new Error('checkWorker.js runs only as a worker thread of the agent');
port.on('message', (request: CheckRequest) => {
  const answer: CheckAnswer = { id: request.id, verdict: verdictOf(request) };
  port.postMessage(answer);
});
