// A Clock that moves only when the test says so: keepalive, expiry and will delay become exact.

import type { Clock, Timer } from '../../src/broker/core/ports.js';

export class ManualClock implements Clock {
  #now: number;
  #timers: Array<{ at: number; callback: () => void; cancelled: boolean }> = [];

  /** `now`: where the clock starts (a core restarted "later" gets a clock of its own). */
  constructor(now = 1_000_000) {
    this.#now = now;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const timer = { at: this.#now + ms, callback, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward, firing due timers in order (timers they set fire too, if due). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#now = due.at;
      due.cancelled = true;
      due.callback();
    }
    this.#now = until;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }

  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
}
