// Where the core keeps what outlives a connection: sessions by client id and retained messages by
// topic. Memory today (broker/persistence/memory-stores.ts); the embedded and Redis stores
// implement the same ports. Synchronous on purpose: the routing path never waits on I/O, so a
// durable store keeps its working set in memory and writes through behind it.

import type { Message } from './message.js';
import type { Session } from './session.js';

export interface SessionStore {
  readonly size: number;
  get(clientId: string): Session | undefined;
  has(clientId: string): boolean;
  set(clientId: string, session: Session): void;
  delete(clientId: string): boolean;
  values(): IterableIterator<Session>;
}

export interface RetainedStore {
  readonly size: number;
  get(topic: string): Message | undefined;
  /** Replaces the retained message of the topic. */
  set(topic: string, message: Message): void;
  delete(topic: string): boolean;
  values(): IterableIterator<Message>;
}

export interface BrokerStores {
  readonly sessions: SessionStore;
  readonly retained: RetainedStore;
}
