/**
 * `node pinger.js URL DURATION_MS INTERVAL_MS`: pings the agent one request at a time, every
 * INTERVAL_MS, for DURATION_MS, on one kept-alive connection; prints the latencies (ms) as JSON.
 * A process of its own, so that the load the bench generates does not delay the pings it measures.
 */
import * as http from 'node:http';

async function main(): Promise<void> {
  const [url, duration, interval] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  const deadline = Date.now() + duration;
  while (Date.now() < deadline) {
    const startedAt = performance.now();
    await new Promise<void>((resolve, reject) => {
      http.get(new URL('/monitor/ping', url), { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
    latencies.push(performance.now() - startedAt);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  agent.destroy();
  process.stdout.write(JSON.stringify(latencies));
}

void main();
