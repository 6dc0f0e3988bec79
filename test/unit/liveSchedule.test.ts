import * as assert from 'node:assert/strict';
import { LiveSchedule, type Timers } from '../../src/extension/run/liveSchedule';

/** Timers that fire only when the test advances the clock. */
class FakeTimers implements Timers {
  now = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now) continue;
      this.pending.delete(id);
      timer.callback();
    }
  }

  get waiting(): number {
    return this.pending.size;
  }
}

/** A run the test finishes by hand, counting starts. */
function controlledRuns() {
  const finishers: (() => void)[] = [];
  let started = 0;
  const run = () => {
    started++;
    return new Promise<void>((resolve) => finishers.push(resolve));
  };
  const finish = async () => {
    finishers.shift()?.();
    // Let the schedule's .finally() run.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { run, finish, started: () => started };
}

describe('live run schedule', () => {
  it('runs once after a burst of edits, when they pause for the delay', () => {
    const timers = new FakeTimers();
    const runs = controlledRuns();
    const schedule = new LiveSchedule(runs.run, 300, timers);
    for (let i = 0; i < 10; i++) {
      schedule.poke();
      timers.advance(100);
    }
    assert.equal(runs.started(), 0, 'no run while the user types faster than the delay');
    timers.advance(300);
    assert.equal(runs.started(), 1);
  });

  it('keeps at most one run pending while a run is in progress, and runs it after the delay', async () => {
    const timers = new FakeTimers();
    const runs = controlledRuns();
    const schedule = new LiveSchedule(runs.run, 300, timers);
    schedule.runNow();
    assert.equal(runs.started(), 1);
    for (let i = 0; i < 50; i++) schedule.poke();
    timers.advance(1000);
    assert.equal(runs.started(), 1, 'no second run while the first is in progress');
    assert.equal(timers.waiting, 0);
    await runs.finish();
    assert.equal(timers.waiting, 1, 'one run pending, debounced');
    timers.advance(300);
    assert.equal(runs.started(), 2);
    await runs.finish();
    timers.advance(1000);
    assert.equal(runs.started(), 2, 'nothing more: the 50 edits cost one extra run');
  });

  it('starts nothing once stopped, neither a debounced nor a pending run', async () => {
    const timers = new FakeTimers();
    const runs = controlledRuns();
    const schedule = new LiveSchedule(runs.run, 300, timers);
    schedule.poke();
    await schedule.stop();
    timers.advance(1000);
    assert.equal(runs.started(), 0);

    const second = new LiveSchedule(runs.run, 300, timers);
    second.runNow();
    second.poke();
    const stopped = second.stop();
    await runs.finish();
    await stopped;
    timers.advance(1000);
    assert.equal(runs.started(), 1);
    assert.equal(second.busy, false);
  });

  it('survives a failing run and runs again on the next change', async () => {
    const timers = new FakeTimers();
    let calls = 0;
    const schedule = new LiveSchedule(() => (calls++, Promise.reject(new Error('boom'))), 10, timers);
    schedule.runNow();
    for (let i = 0; i < 5; i++) await Promise.resolve();
    schedule.poke();
    timers.advance(10);
    assert.equal(calls, 2);
  });
});
