/** Helpers of the integration tests: waiting on conditions without fixed sleeps. */

export interface WaitOptions {
  timeoutMs?: number;
  /** Says what was awaited, for the failure message. */
  message: string;
  intervalMs?: number;
}

/**
 * Polls `condition` until it returns a truthy value (which it resolves with) or the deadline
 * passes (then it rejects with `message` and the last error the condition threw, if any).
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const interval = options.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out waiting for ${options.message}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
