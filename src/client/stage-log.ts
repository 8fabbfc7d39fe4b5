// The timestamped record of a connection's stages, told to a listener as each one begins.

import type { ConnectionStage, StageEvent } from './connection-stage.js';

export class StageLog {
  readonly events: StageEvent[] = [];
  #started = Date.now();
  readonly #listener: ((event: StageEvent) => void) | undefined;

  constructor(listener?: (event: StageEvent) => void) {
    this.#listener = listener;
  }

  get current(): ConnectionStage {
    return this.events[this.events.length - 1]?.stage ?? 'tcp-connecting';
  }

  /** A new attempt (a reconnect): times count from now. */
  restart(): void {
    this.#started = Date.now();
  }

  enter(stage: ConnectionStage, detail?: string): void {
    const at = Date.now();
    const event: StageEvent =
      detail === undefined
        ? { stage, at, elapsedMs: at - this.#started }
        : { stage, at, elapsedMs: at - this.#started, detail };
    this.events.push(event);
    // Bounded: a client that reconnects for a year keeps the latest stages only.
    if (this.events.length > 200) this.events.splice(0, this.events.length - 200);
    this.#listener?.(event);
  }
}
