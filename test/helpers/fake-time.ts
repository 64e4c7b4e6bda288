import type { TestContext } from 'node:test';

/**
 * node:test's mock timers, with the one step they lack for async code: after each tick, let every promise chain that
 * is not waiting on a timer run (setImmediate stays real and runs after the microtask queue drains). Unit tests use
 * this instead of sleeping in real time.
 */
export function fakeTime(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: Date.now() });
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    /** Moves the clock `ms` forward in `step` increments, running what became due at each one. */
    async advance(ms: number, step = 10): Promise<void> {
      await flush();
      for (let elapsed = 0; elapsed < ms; elapsed += step) {
        t.mock.timers.tick(Math.min(step, ms - elapsed));
        await flush();
      }
    },
    /** Moves the clock forward until `promise` settles (at most `limitMs` of simulated time), and returns its value. */
    async until<T>(promise: Promise<T>, limitMs = 60_000, step = 10): Promise<T> {
      let settled = false;
      const watched = promise.finally(() => (settled = true));
      watched.catch(() => {});
      await flush();
      for (let elapsed = 0; !settled && elapsed < limitMs; elapsed += step) {
        t.mock.timers.tick(step);
        await flush();
      }
      if (!settled) throw new Error(`still pending after ${limitMs} ms of simulated time`);
      return watched;
    },
  };
}
