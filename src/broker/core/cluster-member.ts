// The core as one member of a cluster: what the bus tells it, applied to the broker's state.
// A session installed here is recovered from the records its last owner left, as at a restart.

import type { BrokerCore } from './broker-core.js';
import type { ClusterMember } from './cluster-ports.js';
import type { Message } from './message.js';
import type { Timer } from './ports.js';
import { recover } from './recovery.js';
import type { Session } from './session.js';
import type { StoredState, StoreWrite } from './store-ports.js';

/** How often, at most, a position that no write carries is written. */
const POSITION_EVERY_MS = 100;

export class CoreClusterMember implements ClusterMember {
  readonly #core: BrokerCore;
  /** The position write still waiting in the open transaction: a newer one replaces it. */
  #position: Extract<StoreWrite, { kind: 'position' }> | undefined;
  #positionAt = 0;
  #deferred: Timer | undefined;

  constructor(core: BrokerCore) {
    this.#core = core;
  }

  routeFromLog(message: Message, originClientId: string | undefined, entryId: string): void {
    this.#core.routeFromLog(message, originClientId, entryId);
  }

  replayTo(
    clientIds: ReadonlySet<string>,
    message: Message,
    originClientId: string | undefined,
    entryId: string,
  ): void {
    const sessions = new Set<Session>();
    for (const clientId of clientIds) {
      const session = this.#core.sessions.get(clientId);
      if (session !== undefined) sessions.add(session);
    }
    if (sessions.size === 0) return;
    const origin = originClientId === undefined ? undefined : this.#core.sessions.get(originClientId);
    this.#core.router.publish(message, origin, sessions, this.#core.sharedPicker(entryId));
  }

  releaseSession(clientId: string, toToken: string): void {
    this.#core.handOver(clientId, toToken);
  }

  installSession(state: StoredState): void {
    for (const record of state.sessions) {
      const stale = this.#core.sessions.get(record.clientId);
      if (stale !== undefined) this.#core.forgetHere(stale);
    }
    recover(this.#core, state);
  }

  dropSession(clientId: string): void {
    const session = this.#core.sessions.get(clientId);
    if (session !== undefined) this.#core.forgetHere(session);
  }

  /**
   * The position rides with the writes its routing made (so it is exact for every entry that
   * changed a session); entries that changed nothing move it at most every POSITION_EVERY_MS,
   * so that a node that only delivers does not add a transaction per read.
   */
  logPosition(id: string): void {
    const commits = this.#core.commits;
    if (this.#position !== undefined) commits.cancel(this.#position);
    this.#position = { kind: 'position', id };
    const now = this.#core.options.clock.now();
    if (commits.hasOpenWrites || now - this.#positionAt >= POSITION_EVERY_MS) {
      this.#positionAt = now;
      commits.write(this.#position);
      return;
    }
    this.#deferred ??= this.#core.options.clock.setTimeout(() => {
      this.#deferred = undefined;
      if (this.#position !== undefined) this.logPosition(this.#position.id);
    }, POSITION_EVERY_MS);
  }

  holds(clientId: string): boolean {
    return this.#core.sessions.has(clientId);
  }

  settled(): Promise<void> {
    return new Promise((resolve) => this.#core.commits.afterCommit(() => resolve()));
  }
}
