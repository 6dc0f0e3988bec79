/**
 * Inputs from 1 KB to 60 MiB through loudify (which streams: a 64 KiB buffer) on the agent, next
 * to the do-nothing floor echoing the same body: time, and the agent's peak RSS over its RSS
 * before the run, and what it still holds shortly after.
 */
import { performance } from 'node:perf_hooks';
import { bareRunner } from './bare';
import { percentile } from './measure';
import { resetPeakRss, sampleProcess } from './proc';
import { type BenchContext, type BenchSection, ms, ratio, type Row } from './report';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [1 * KiB, 64 * KiB, 1 * MiB, 16 * MiB, 60 * MiB];
const RUNS = 3;
/** How long after the last run the agent's RSS is read again ("released afterwards"). */
const SETTLE_MS = 2_000;

export const bigInputs: BenchSection = {
  name: 'big',
  title: 'big inputs through loudify (output as large as the input), agent against the echoing floor',
  async run(context: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    for (const size of SIZES) {
      const input = Buffer.alloc(size, 'the quick brown fox jumps over the lazy dog\n');
      const floorMs: number[] = [];
      const agentMs: number[] = [];
      let peakOver = 0;
      const before = sampleProcess(context.agent.pid);
      for (let i = 0; i < RUNS; i++) {
        floorMs.push(await timed(() => context.floorClient.run(context.job, input)));
        resetPeakRss(context.agent.pid);
        const rssBefore = sampleProcess(context.agent.pid).rssBytes;
        agentMs.push(
          await timed(async () => {
            const result = await context.agentClient.run(context.job, input);
            if (result.exitCode !== 0 || result.output.byteLength !== size) throw new Error(`loudify answered ${result.output.byteLength} of ${size} bytes`);
          }),
        );
        peakOver = Math.max(peakOver, sampleProcess(context.agent.pid).peakRssBytes - rssBefore);
      }
      await new Promise((resolve) => setTimeout(resolve, size >= MiB ? SETTLE_MS : 0));
      const held = sampleProcess(context.agent.pid).rssBytes - before.rssBytes;
      const [agent, floor] = [percentile(agentMs, 50), percentile(floorMs, 50)];
      if (size === 16 * MiB) {
        context.figures.set('big16Ratio', agent / floor);
        // Without overlap, no runner beats moving the bytes plus running the job on them.
        context.figures.set('big16Bound', (floor + (await bareJobMs(context.wasm, input))) / floor);
      }
      if (size === 60 * MiB) context.figures.set('big60PeakRatio', peakOver / (2 * size));
      if (size === 16 * MiB) context.figures.set('big16PeakRatio', peakOver / (2 * size));
      rows.push({
        what: `${label(size)} in and out`,
        value: `${ms(agent)} / ${ms(floor)}`,
        meaning: `agent / echo floor, median of ${RUNS}: ${ratio(agent / floor)}; agent peak RSS +${mib(peakOver)} over before the run (${ratio(peakOver / (2 * size))} its input+output), +${mib(held)} still held ${size >= MiB ? `${SETTLE_MS / 1000} s later` : 'after'}`,
      });
    }
    return rows;
  },
};

/** The job alone on this thread over `input` (the median of RUNS, after one run to warm it). */
async function bareJobMs(wasm: Uint8Array, input: Uint8Array): Promise<number> {
  const bare = await bareRunner(wasm);
  bare.run(input);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timed(async () => bare.run(input)));
  await bare.close();
  return percentile(times, 50);
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

function label(bytes: number): string {
  return bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
