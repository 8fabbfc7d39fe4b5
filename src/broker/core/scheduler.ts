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
    const wait = Math.max(0, deadline - this.#clock.now());
    // Every connection has one (connect time-out, keepalive): a deadline the platform timer
    // can hold is that timer itself, with nothing around it to allocate.
    if (wait <= MAX_TIMER_MS) return this.#clock.setTimeout(callback, wait);
    return new FarDeadline(this.#clock, deadline, callback);
  }

  /** Runs `callback` `ms` from now. */
  after(ms: number, callback: () => void): Timer {
    return this.at(this.#clock.now() + ms, callback);
  }
}

/** A deadline past what one platform timer holds: reached in steps, each re-reading the clock. */
class FarDeadline implements Timer {
  #timer: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly deadline: number,
    private readonly callback: () => void,
  ) {
    this.#timer = this.#arm();
  }

  #arm(): Timer {
    const wait = Math.max(0, this.deadline - this.clock.now());
    return wait <= MAX_TIMER_MS
      ? this.clock.setTimeout(this.callback, wait)
      : this.clock.setTimeout(() => {
          this.#timer = this.#arm();
        }, MAX_TIMER_MS);
  }

  cancel(): void {
    this.#timer.cancel();
  }
}
