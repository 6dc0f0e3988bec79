/** The goals of the speed issue, as ratios of figures measured earlier in the same run. */
import { checkManifest } from '../src/manifest';
import { percentile, sequentialSamples } from './measure';
import { type BenchContext, type BenchSection, ratio, type Row } from './report';

interface Goal {
  what: string;
  /** The figure, from the figures of the sections before. */
  value(figures: Map<string, number>): number;
  limit: number;
  /** 'max': the value must be at most the limit; 'min': at least. */
  bound: 'max' | 'min';
  show(value: number): string;
  /** What the value means, whatever it is. */
  means: string;
  /** What else in the run bears on it, when the figures are there. */
  beside?(figures: Map<string, number>): string | undefined;
}

const GOALS: Goal[] = [
  {
    what: 'agent p50 / floor p50',
    value: (f) => f.get('agentP50')! / f.get('floorP50')!,
    limit: 1.5,
    bound: 'max',
    show: ratio,
    means: 'how much longer a small job takes through the agent than a request to a server that does nothing',
  },
  {
    what: 'agent jobs/s / floor req/s, 32 clients',
    value: (f) => f.get('agentRps32')! / f.get('floorRps32')!,
    limit: 0.5,
    bound: 'min',
    show: (v) => `${Math.round(v * 100)}%`,
    means: "the share of the do-nothing server's request rate the agent reaches while running a job per request",
  },
  {
    what: 'agent p99 / its own p50',
    value: (f) => f.get('agentP99')! / f.get('agentP50')!,
    limit: 3,
    bound: 'max',
    show: ratio,
    means: 'how far the slowest 1% of single-client jobs are from the typical one (GC pauses, wake-ups)',
    beside: (f) => f.has('floorP99') ? `the do-nothing floor's own p99 is ${ratio(f.get('floorP99')! / f.get('floorP50')!)} its p50 in the same rounds: the machine's scheduling, which no server escapes` : undefined,
  },
  {
    what: '16 MiB through loudify / echo floor',
    value: (f) => f.get('big16Ratio')!,
    limit: 1.5,
    bound: 'max',
    show: ratio,
    means: 'the cost of running a job over 16 MiB in and out, against only moving those bytes over HTTP',
    beside: (f) =>
      f.has('big16Bound')
        ? `the job alone takes ${ratio(f.get('big16Bound')! - 1)} the echo's time over those bytes, so a run that starts once its input is in and answers once it has ended is at least ${ratio(f.get('big16Bound')!)}`
        : undefined,
  },
  {
    what: '16 MiB run: agent peak RSS / (input+output)',
    value: (f) => f.get('big16PeakRatio')!,
    limit: 2,
    bound: 'max',
    show: ratio,
    means: "the agent's memory for a run over what it carries (input and output bytes); above 1x are copies",
  },
  {
    what: '60 MiB run: agent peak RSS / (input+output)',
    value: (f) => f.get('big60PeakRatio')!,
    limit: 2,
    bound: 'max',
    show: ratio,
    means: "the same for 60 MiB in and 60 MiB out",
  },
  {
    what: '60 MiB publish / cp',
    value: (f) => f.get('publishRatio')!,
    limit: 2,
    bound: 'max',
    show: ratio,
    means: 'a 60 MiB PUT of an executable (streamed into the store, hashed once, checked, fsync\'d) against copying the file on disk',
  },
];

export const goals: BenchSection = {
  name: 'goals',
  title: 'goals (ratios within this run)',
  async run(context: BenchContext): Promise<Row[]> {
    return GOALS.filter((goal) => Number.isFinite(goal.value(context.figures))).map((goal) => {
      const value = goal.value(context.figures);
      const ok = goal.bound === 'max' ? value <= goal.limit : value >= goal.limit;
      const wanted = `${goal.bound === 'max' ? 'at most' : 'at least'} ${goal.show(goal.limit)}`;
      const verdict = ok ? `met (${wanted})` : `not met: ${goal.show(value)} where ${wanted} is the goal`;
      const beside = goal.beside?.(context.figures);
      return { what: goal.what, value: goal.show(value), meaning: `${verdict}; ${goal.means}${beside ? ` (${beside})` : ''}`, ok };
    });
  },
};

/** checkManifest on the sample's manifest: what the editor pays per keystroke. */
export const manifestCheck: BenchSection = {
  name: 'manifest',
  title: 'manifest checks',
  async run(context: BenchContext): Promise<Row[]> {
    let problems = 0;
    const samples = await sequentialSamples(() => void (problems += checkManifest(context.manifest).problems.length), { warmup: 500, count: 20_000, maxMs: 2_000 });
    if (problems !== 0) throw new Error('the benchmark manifest has problems: fix samples/loudify/manifest.toml');
    const medianUs = percentile(samples, 50) * 1000;
    return [{ what: 'checkManifest, typical manifest', value: `${medianUs.toFixed(1)} µs`, meaning: 'median time to check the loudify manifest, what diagnostics cost per edit (well under a frame)' }];
  },
};
