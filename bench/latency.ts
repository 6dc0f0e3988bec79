/**
 * Latency of a hot small job (loudify, 1 KB), one at a time, interleaved in rounds: the bare run
 * on this thread, the JobRunner (no HTTP; with and without runs on its own thread), the do-nothing node:http floor and the
 * agent, both through the same AgentClient; and the first call after an idle pause (a click on Run).
 */
import { JobRunner } from '../src/agent/runner/pool';
import { DEFAULT_JOB_LIMITS } from '../src/agent/runner/types';
import { AgentClient } from '../src/client/client';
import { bareRunner } from './bare';
import { interleavedSamples, percentile, type Bounds } from './measure';
import { type BenchContext, type BenchSection, ms, ratio, type Row } from './report';

export const INPUT = Buffer.alloc(1024, 'the quick brown fox jumps over the lazy dog\n');
const LATENCY: Bounds = { warmup: 300, count: 4_000, maxMs: 6_000 };
const ROUNDS = 8;
/** Longer than the agent's and the floor's keep-alive timeout (5 s): the connection is gone. */
const IDLE_MS = 5_500;

export const latency: BenchSection = {
  name: 'latency',
  title: 'latency of a hot small job (loudify, 1 KB in and out), one client, interleaved rounds',
  async run(context: BenchContext): Promise<Row[]> {
    const bare = await bareRunner(context.wasm);
    const runner = new JobRunner({ limits: DEFAULT_JOB_LIMITS });
    const workersOnly = new JobRunner({ limits: DEFAULT_JOB_LIMITS, mainThreadRuns: false });
    let runnerRuns = 0;
    const runJob = { key: 'bench', loadBytes: () => Promise.resolve(context.wasm), stdin: INPUT };
    // In-process runs first, then the HTTP rounds on their own: the in-process runs' garbage and
    // threads would otherwise land in the client's pauses, and so in the HTTP rows' p99.
    const inProcess = await interleavedSamples(
      {
        bare: () => bare.run(INPUT),
        runner: () => (runnerRuns++, runner.run(runJob)),
        workers: () => workersOnly.run(runJob),
      },
      LATENCY,
      ROUNDS,
    );
    const onMainThread = runner.mainThreadRuns / runnerRuns;
    await Promise.all([bare.close(), runner.close(), workersOnly.close()]);
    const overHttp = await interleavedSamples(
      {
        floor: () => context.floorClient.run(context.job, INPUT),
        agent: () => context.agentClient.run(context.job, INPUT),
      },
      LATENCY,
      ROUNDS,
    );
    const samples = { ...inProcess, ...overHttp };
    const at = (name: keyof typeof samples, p: number) => percentile(samples[name], p);
    const [floor50, agent50, agent99] = [at('floor', 50), at('agent', 50), at('agent', 99)];
    context.figures.set('floorP50', floor50);
    context.figures.set('agentP50', agent50);
    context.figures.set('agentP99', agent99);
    context.figures.set('floorP99', at('floor', 99));
    const idle = await afterIdle(context);
    return [
      { what: 'bare run p50 / p99', value: `${ms(at('bare', 50))} / ${ms(at('bare', 99))}`, meaning: 'the job alone on this thread, with the agent\'s WASI host and memory reuse: what any runner must pay' },
      { what: 'JobRunner p50 / p99', value: `${ms(at('runner', 50))} / ${ms(at('runner', 99))}`, meaning: `the agent's runner without HTTP, as the agent uses it: ${Math.round(onMainThread * 100)}% of the runs on its own thread (the job proved quick; metered with fuel), +${ms(at('runner', 50) - at('bare', 50))} over the bare run at p50` },
      { what: 'JobRunner, workers only', value: `${ms(at('workers', 50))} / ${ms(at('workers', 99))}`, meaning: `the same with every job handed to a worker thread and back (serval agent --workers-only): +${ms(at('workers', 50) - at('bare', 50))} at p50` },
      { what: 'do-nothing node:http p50 / p99', value: `${ms(floor50)} / ${ms(at('floor', 99))}`, meaning: 'the HTTP floor: a server that only echoes the body, through the same client; no agent can be faster' },
      { what: 'agent p50 / p99', value: `${ms(agent50)} / ${ms(agent99)}`, meaning: `POST /v1/jobs/:name/run through AgentClient: ${ratio(agent50 / floor50)} the floor at p50 (+${ms(agent50 - floor50)}), p99 ${ratio(agent99 / agent50)} its own p50` },
      { what: 'first call after an idle pause', value: `${ms(idle.agent)} / ${ms(idle.floor)}`, meaning: `agent / floor, each after ${IDLE_MS / 1000} s idle (a new connection, as for a click on Run): ${ratio(idle.agent / idle.floor)} the floor's` },
    ];
  },
};

/** One call after the keep-alive connections have timed out, for the agent and the floor at once. */
async function afterIdle(context: BenchContext): Promise<{ agent: number; floor: number }> {
  // Fresh clients share the process-wide pool: wait the idle time out, then time one call each.
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const time = async (client: AgentClient) => {
    const started = performance.now();
    await client.run(context.job, INPUT);
    return performance.now() - started;
  };
  const floor = await time(context.floorClient);
  const agent = await time(context.agentClient);
  return { agent, floor };
}
