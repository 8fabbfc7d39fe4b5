// A budget of costly steps per turn of the event loop, shared by every connection that takes one:
// starting a connection (connection-gate.ts), a TLS handshake's next flight (alert-gate.ts). What
// is over the budget waits, in the order it came, for the next turns; a turn's own traffic (the
// connected clients' packets) is served between them.

/**
 * Runs offered steps at most `perTurn` per turn, in the check phase only, so that a turn never
 * runs more, whatever its poll brought. It bounds the work in one turn, not the rate: an idle loop
 * turns again at once. `run` returns false for a step that no longer costs anything (its
 * connection closed while it waited), which is not counted.
 */
export class TurnPacer<T> {
  readonly #queue: T[] = [];
  #head = 0;
  #scheduled = false;

  constructor(
    private readonly perTurn: number,
    private readonly run: (step: T) => boolean,
  ) {}

  offer(step: T): void {
    this.#queue.push(step);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#turn);
  }

  readonly #turn = (): void => {
    const queue = this.#queue;
    let ran = 0;
    while (ran < this.perTurn && this.#head < queue.length) {
      const step = queue[this.#head]!;
      // Cleared, so that a closed connection's buffers are not held until the queue is compacted.
      (queue as (T | undefined)[])[this.#head++] = undefined;
      if (this.run(step)) ran++;
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
      this.#scheduled = false;
      return;
    }
    if (this.#head > 1024) {
      queue.splice(0, this.#head);
      this.#head = 0;
    }
    setImmediate(this.#turn);
  };
}
