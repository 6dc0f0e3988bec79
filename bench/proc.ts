/** What Linux says about a process: CPU time, context switches (all threads), resident memory. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

export interface ProcSample {
  cpuUs: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
  rssBytes: number;
  peakRssBytes: number;
}

export function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat (12 and 13 after the command name).
  const cpuUs = (Number(fields[11]) + Number(fields[12])) * TICK_US;
  let voluntarySwitches = 0;
  let involuntarySwitches = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      voluntarySwitches += field(status, 'voluntary_ctxt_switches');
      involuntarySwitches += field(status, 'nonvoluntary_ctxt_switches');
    } catch {
      // a thread that ended meanwhile
    }
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuUs, voluntarySwitches, involuntarySwitches, rssBytes: field(status, 'VmRSS') * 1024, peakRssBytes: field(status, 'VmHWM') * 1024 };
}

/** Resets the process's peak RSS (VmHWM) to its current RSS, so the next peak is the next run's. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}
