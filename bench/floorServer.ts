/**
 * The floor that Node's HTTP sets: a server that does nothing but read the request body and answer
 * it back (200, the headers the bench client checks), run as its own process like the agent.
 * `npm run bench` measures it with the same client as the agent, so the two rows compare directly.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.byteLength, 'serval-exit-code': '0' });
    res.end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});

// Exits normally on the bench's SIGTERM, so that a CPU profile (SERVAL_BENCH_PROF) is written.
process.on('SIGTERM', () => process.exit(0));
