// Every deadline of the core (session expiry, will delay, keepalive, connect time-out) as an
// absolute clock time, however far away. A timer longer than 2^31-1 ms fires at once in Node, so a
// far deadline is reached in steps, each re-reading the clock: a 30-day session lasts 30 days.

import type { Clock, Timer } from './ports.js';

/** The longest single wait a platform timer takes correctly. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class Scheduler {
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Runs `callback` once the clock reads `deadline` (ms); at once when it already has. */
  at(deadline: number, callback: () => void): Timer {
    let timer: Timer | undefined;
    const arm = (): void => {
      const wait = Math.max(0, deadline - this.#clock.now());
      timer =
        wait <= MAX_TIMER_MS
          ? this.#clock.setTimeout(callback, wait)
          : this.#clock.setTimeout(arm, MAX_TIMER_MS);
    };
    arm();
    return { cancel: () => timer?.cancel() };
  }

  /** Runs `callback` `ms` from now. */
  after(ms: number, callback: () => void): Timer {
    return this.at(this.#clock.now() + ms, callback);
  }
}
