/**
 * What every bench section returns and how `npm run bench` prints it: one row per figure, each
 * with a sentence that says what it means (a goal row says whether it is met, and by how much).
 */
import type { ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import type { AgentClient } from '../src/client/client';

export interface Row {
  what: string;
  value: string;
  /** What the figure means, in words; for a goal, whether it holds and by how much. */
  meaning: string;
  /** Goals only: met or not. */
  ok?: boolean;
}

/** A server process measured by the bench: the agent or the do-nothing floor. */
export interface Server {
  child: ChildProcess;
  url: string;
  pid: number;
}

/** What the sections share: the servers, clients for them, the job, and figures for the goals. */
export interface BenchContext {
  agent: Server;
  floor: Server;
  agentClient: AgentClient;
  floorClient: AgentClient;
  job: string;
  wasm: Uint8Array;
  manifest: string;
  /** Figures sections leave for later sections (the goals), by name. */
  figures: Map<string, number>;
}

/** One part of the bench, in its own file; bench/index.ts lists them in order. */
export interface BenchSection {
  /** Short name: `npm run bench -- NAME...` runs only the sections named (goals need all). */
  name: string;
  title: string;
  run(context: BenchContext): Promise<Row[]>;
}

export function printSection(title: string, rows: readonly Row[]): void {
  const width = Math.max(...rows.map((row) => row.what.length));
  const valueWidth = Math.max(...rows.map((row) => row.value.length));
  console.log(`\n== ${title}`);
  for (const row of rows) {
    const mark = row.ok === undefined ? '  ' : row.ok ? 'ok' : 'NO';
    console.log(`${mark} ${row.what.padEnd(width)}  ${row.value.padStart(valueWidth)}  ${row.meaning}`);
  }
}

export function printHeader(): void {
  console.log(`Serval bench: node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log(`load average before: ${loadAverage()} (other work on the machine skews every figure; ratios within one run hold best)`);
}

export function loadAverage(): string {
  return os.loadavg().map((load) => load.toFixed(2)).join(' ');
}

export const ms = (value: number): string => `${value.toFixed(3)} ms`;
export const ratio = (value: number): string => `${value.toFixed(2)}x`;
