// Group commit: every write of one event-loop turn goes to the store as one transaction, one
// transaction at a time (what arrives meanwhile waits for the next), and the acknowledgements
// registered behind those writes are released when it commits, so a PUBACK never precedes the
// durability of what it acknowledges, and throughput does not fall to one fsync per message.

import type { Logger } from './ports.js';
import type { Store, StoreWrite } from './store-ports.js';

/** Told whether what it waited for was kept (false: the transaction failed). */
export type AfterCommit = (kept: boolean) => void;

interface Batch {
  /** In order; a Set so that a write superseded within the batch can be taken out. */
  writes: Set<StoreWrite>;
  waiting: AfterCommit[];
}

export interface GroupCommitStats {
  storeCommits: number;
  storeWriteFailures: number;
}

export class GroupCommit {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #stats: GroupCommitStats;
  /** Writes and waiters of the turn under way; committed once the batch in flight is done. */
  #open: Batch | undefined;
  #inFlight: Promise<void> | undefined;
  #scheduled = false;
  readonly #idleWaiters: Array<() => void> = [];

  /** Told how long each transaction took to be durable, seconds (the metrics histogram). */
  readonly #observe: ((seconds: number) => void) | undefined;

  constructor(store: Store, logger: Logger, stats: GroupCommitStats, observe?: (seconds: number) => void) {
    this.#store = store;
    this.#logger = logger;
    this.#stats = stats;
    this.#observe = observe;
  }

  /** Nothing written and not yet durable: an acknowledgement may go out at once. */
  get idle(): boolean {
    return this.#open === undefined && this.#inFlight === undefined;
  }

  /** Some write waits for the next transaction. */
  get hasOpenWrites(): boolean {
    return (this.#open?.writes.size ?? 0) > 0;
  }

  write(write: StoreWrite): void {
    if (!this.#store.durable) {
      void this.#store.commit([write]);
      return;
    }
    this.#batch().writes.add(write);
    this.#schedule();
  }

  /**
   * Takes a write out of the batch not yet committed (a later write to the same record, or its
   * deletion, makes it pointless); false when it is committed or being committed.
   */
  cancel(write: StoreWrite): boolean {
    return this.#open?.writes.delete(write) ?? false;
  }

  /** Runs `then` once everything written so far is durable; at once when it already is. */
  afterCommit(then: AfterCommit): void {
    if (this.idle) {
      then(true);
      return;
    }
    this.#batch().waiting.push(then);
    this.#schedule();
  }

  /** Resolves when every write made so far has been committed (or has failed). */
  drained(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #batch(): Batch {
    this.#open ??= { writes: new Set(), waiting: [] };
    return this.#open;
  }

  /** The end of this turn: by then every handler of the turn has written. */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight !== undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#commitOpen();
    });
  }

  #commitOpen(): void {
    const batch = this.#open;
    if (batch === undefined || this.#inFlight !== undefined) return;
    this.#open = undefined;
    this.#inFlight = this.#run(batch).finally(() => {
      this.#inFlight = undefined;
      if (this.#open !== undefined) this.#commitOpen();
      else for (const resolve of this.#idleWaiters.splice(0)) resolve();
    });
  }

  async #run(batch: Batch): Promise<void> {
    let kept = true;
    if (batch.writes.size > 0) {
      try {
        const started = performance.now();
        await this.#store.commit([...batch.writes]);
        this.#stats.storeCommits++;
        this.#observe?.((performance.now() - started) / 1000);
      } catch (error) {
        kept = false;
        this.#stats.storeWriteFailures++;
        this.#logger.error(
          { store: this.#store.location, writes: batch.writes.size, error: (error as Error).message },
          'store write failed; the acknowledgements waiting for it are withheld',
        );
      }
    }
    for (const then of batch.waiting) then(kept);
  }
}
