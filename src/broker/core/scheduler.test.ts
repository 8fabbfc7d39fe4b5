// The scheduler on a clock that overflows as Node's timers do: a wait above 2^31-1 ms fires at
// once there, so only a scheduler that steps towards far deadlines keeps them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/support/manual-clock.js';
import type { Clock, Timer } from './ports.js';
import { MAX_TIMER_MS, Scheduler } from './scheduler.js';

/** Node's setTimeout: a delay it cannot hold (above 2^31-1 ms) becomes 1 ms. */
class NodeLikeClock implements Clock {
  readonly manual = new ManualClock();
  now(): number {
    return this.manual.now();
  }
  setTimeout(callback: () => void, ms: number): Timer {
    return this.manual.setTimeout(callback, ms > MAX_TIMER_MS ? 1 : ms);
  }
}

const DAY = 86_400_000;

describe('scheduler', () => {
  it('the clock it is tested on overflows as Node does: a 30-day timer fires after 1 ms', () => {
    const clock = new NodeLikeClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 30 * DAY);
    clock.manual.advance(1);
    assert.equal(fired, true);
  });

  it('keeps a 30-day deadline to the millisecond', () => {
    const clock = new NodeLikeClock();
    const scheduler = new Scheduler(clock);
    let firedAt: number | undefined;
    scheduler.after(30 * DAY, () => (firedAt = clock.now()));
    clock.manual.advance(30 * DAY - 1);
    assert.equal(firedAt, undefined);
    clock.manual.advance(1);
    assert.equal(firedAt, 1_000_000 + 30 * DAY);
  });

  it('keeps the longest Session Expiry Interval the spec allows, 0xFFFFFFFE s (136 years)', () => {
    const clock = new NodeLikeClock();
    const scheduler = new Scheduler(clock);
    const ms = 0xfffffffe * 1000;
    let fired = 0;
    scheduler.after(ms, () => fired++);
    clock.manual.advance(ms - 1);
    assert.equal(fired, 0);
    clock.manual.advance(1);
    assert.equal(fired, 1);
  });

  it('fires a deadline already past at once, and not at all once cancelled', () => {
    const clock = new NodeLikeClock();
    const scheduler = new Scheduler(clock);
    let past = 0;
    let cancelled = 0;
    scheduler.at(clock.now() - 5000, () => past++);
    const timer = scheduler.after(40 * DAY, () => cancelled++);
    clock.manual.advance(30 * DAY); // past the first step towards it
    timer.cancel();
    clock.manual.advance(20 * DAY);
    assert.equal(past, 1);
    assert.equal(cancelled, 0);
  });
});
