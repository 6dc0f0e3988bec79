/**
 * When a live run runs: `poke()` on every change (an edit of the input, a rebuilt .wasm); the run
 * starts once the changes paused for `delayMs`; a change during a run makes one more run after it,
 * never more (a burst of edits while a slow job runs costs one extra run, not one per keystroke).
 * Pure (no vscode), so its timing is tested on its own.
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class LiveSchedule {
  private timer: unknown;
  private running: Promise<void> | undefined;
  /** A change arrived while a run was in progress: run once more after it. */
  private pending = false;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly delayMs: number,
    private readonly timers: Timers = REAL_TIMERS,
  ) {}

  /** Something the run depends on changed. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.restartTimer();
  }

  /** Runs now (the first run of a session), unless one is in progress: then after it. */
  runNow(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) this.pending = true;
    else this.start();
  }

  /** Whether a run is in progress or waiting for its delay. */
  get busy(): boolean {
    return this.running !== undefined || this.timer !== undefined;
  }

  /** No run starts after this; the one in progress finishes (its result is the caller's to ignore). */
  stop(): Promise<void> {
    this.stopped = true;
    this.pending = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    return this.running ?? Promise.resolve();
  }

  private restartTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, this.delayMs);
  }

  private start(): void {
    if (this.stopped) return;
    this.running = this.run()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.pending && !this.stopped) {
          this.pending = false;
          this.restartTimer();
        }
      });
  }
}
