/**
 * Jobs per second at 1, 8, 32 and 128 concurrent clients, the floor and the agent in turn at each
 * level, with what each request cost the server process: CPU time and context switches (all its
 * threads, from /proc), the agent's p50/p99 under that load.
 */
import { performance } from 'node:perf_hooks';
import type { AgentClient } from '../src/client/client';
import { INPUT } from './latency';
import { percentile } from './measure';
import { sampleProcess } from './proc';
import { type BenchContext, type BenchSection, ms, type Row } from './report';

const LEVELS = [1, 8, 32, 128];
const WARMUP_MS = 300;
const MEASURE_MS = 2_500;

interface Load {
  perSecond: number;
  done: number;
  cpuUsPerRequest: number;
  switchesPerRequest: number;
  p50: number;
  p99: number;
}

export const load: BenchSection = {
  name: 'load',
  title: 'throughput of loudify (1 KB) with concurrent keep-alive clients, floor and agent in turn',
  async run(context: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    for (const clients of LEVELS) {
      const floor = await measure(context.floorClient, context.floor.pid, context.job, clients);
      const agent = await measure(context.agentClient, context.agent.pid, context.job, clients);
      if (clients === 32) {
        context.figures.set('floorRps32', floor.perSecond);
        context.figures.set('agentRps32', agent.perSecond);
      }
      rows.push(
        {
          what: `floor, ${clients} clients`,
          value: `${Math.round(floor.perSecond)} req/s`,
          meaning: `do-nothing node:http: ${Math.round(floor.cpuUsPerRequest)} µs CPU and ${floor.switchesPerRequest.toFixed(2)} context switches per request; p50 ${ms(floor.p50)}, p99 ${ms(floor.p99)}`,
        },
        {
          what: `agent, ${clients} clients`,
          value: `${Math.round(agent.perSecond)} jobs/s`,
          meaning: `${Math.round((100 * agent.perSecond) / floor.perSecond)}% of the floor's rate; ${Math.round(agent.cpuUsPerRequest)} µs CPU and ${agent.switchesPerRequest.toFixed(2)} context switches per job (all threads); p50 ${ms(agent.p50)}, p99 ${ms(agent.p99)}`,
        },
      );
    }
    return rows;
  },
};

async function measure(client: AgentClient, pid: number, job: string, clients: number): Promise<Load> {
  const run = () => client.run(job, INPUT);
  await loop(run, clients, WARMUP_MS, []);
  const before = sampleProcess(pid);
  const started = performance.now();
  const durations: number[] = [];
  const done = await loop(run, clients, MEASURE_MS, durations);
  const seconds = (performance.now() - started) / 1000;
  const after = sampleProcess(pid);
  const switches = after.voluntarySwitches + after.involuntarySwitches - before.voluntarySwitches - before.involuntarySwitches;
  return {
    perSecond: done / seconds,
    done,
    cpuUsPerRequest: (after.cpuUs - before.cpuUs) / done,
    switchesPerRequest: switches / done,
    p50: percentile(durations, 50),
    p99: percentile(durations, 99),
  };
}

/** `clients` callers back to back for `forMs`; returns the calls completed, their durations in `durations`. */
async function loop(run: () => Promise<unknown>, clients: number, forMs: number, durations: number[]): Promise<number> {
  const deadline = performance.now() + forMs;
  let done = 0;
  const caller = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      await run();
      durations.push(performance.now() - started);
      done++;
    }
  };
  await Promise.all(Array.from({ length: clients }, caller));
  return done;
}
