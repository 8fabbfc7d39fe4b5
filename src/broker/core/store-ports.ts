// The store port: what outlives the process, as plain records (never live sessions, timers or
// closures). The core keeps its working set in memory and writes every change through here; a
// store applies one turn's writes as one transaction (group commit) and the core sends an
// acknowledgement only once the transaction that holds what it acknowledges has committed.
// Implementations: broker/persistence/memory-store.ts, broker/persistence/lmdb-store.ts.

import type { QoS } from '../../protocol/index.js';
import type { Message } from './message.js';

/**
 * An application message as stored: once, however many sessions hold it. The core's Message is
 * plain data already (its expiresAt an absolute clock time), so the record is that shape.
 */
export type MessageRecord = Message;

export interface SubscriptionRecord {
  readonly filter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionIdentifier?: number;
}

/** A persistent session's own state; its queue and QoS 2 ids are records of their own. */
export interface SessionRecord {
  readonly clientId: string;
  readonly username?: string;
  /** Seconds the session outlives its connection (0xFFFFFFFF: never expires). */
  readonly expiryInterval: number;
  /** Set while a client holds the session: if the broker stops then, the connection was lost. */
  readonly connected?: true;
  /** Absolute clock time (ms) the session ends; set only while its client is away. */
  readonly expiresAt?: number;
  readonly subscriptions: readonly SubscriptionRecord[];
  /** The will of the connection holding the session, or one waiting out its delay. */
  readonly will?: MessageRecord;
  /** Absolute clock time (ms) the will is published; set only while it waits out its delay. */
  readonly willAt?: number;
}

export type AwaitedAck = 'puback' | 'pubrec' | 'pubcomp';

/** One QoS 1/2 message for one session: waiting (no packetId) or in flight. */
export interface QueuedRecord {
  readonly clientId: string;
  /** Order of arrival, unique across the store. */
  readonly seq: number;
  readonly messageId: number;
  /** 0 only with queueQos0Messages, and never in flight. */
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIdentifiers?: readonly number[];
  readonly packetId?: number;
  readonly awaiting?: AwaitedAck;
}

/**
 * What only a cluster's shared store acts on (a node's own store has nothing to do with them;
 * they ride the same transaction as the node's other writes, so they commit in their order):
 * - forward: a message published here, for every node's subscribers (the publisher's
 *   acknowledgement waits for it like for any write); `origin` is the publisher's client id.
 * - handover: this node gives a session to the node holding the fencing token `to`.
 * - disown: the session ended here; no node owns the client id any more.
 * - position: how far this node has routed the cluster's message log.
 * - share: a client joined or left a shared subscription group ("<share name>/<filter>"): every
 *   node counts the members of every group, so that one of them, on whichever node, gets a message.
 */
export type ClusterWrite =
  | { readonly kind: 'forward'; readonly message: Message; readonly origin?: string }
  | { readonly kind: 'handover'; readonly clientId: string; readonly to: string }
  | { readonly kind: 'disown'; readonly clientId: string }
  | { readonly kind: 'position'; readonly id: string }
  | { readonly kind: 'share'; readonly group: string; readonly clientId: string; readonly member: boolean };

export const isClusterWrite = (w: StoreWrite): w is ClusterWrite =>
  w.kind === 'forward' ||
  w.kind === 'handover' ||
  w.kind === 'disown' ||
  w.kind === 'position' ||
  w.kind === 'share';

/** A record a node's own store keeps. */
export type RecordWrite = Exclude<StoreWrite, ClusterWrite>;

/** A write; `record: undefined` deletes. */
export type StoreWrite =
  | ClusterWrite
  | { readonly kind: 'session'; readonly clientId: string; readonly record: SessionRecord | undefined }
  | { readonly kind: 'message'; readonly id: number; readonly record: MessageRecord | undefined }
  | {
      readonly kind: 'queued';
      readonly clientId: string;
      readonly seq: number;
      readonly record: QueuedRecord | undefined;
    }
  /** An inbound QoS 2 packet id received and not yet released [MQTT-4.3.3-10]. */
  | {
      readonly kind: 'inbound';
      readonly clientId: string;
      readonly packetId: number;
      readonly present: boolean;
    }
  | { readonly kind: 'retained'; readonly topic: string; readonly record: MessageRecord | undefined };

/** Everything a store holds, read once at start. */
export interface StoredState {
  readonly sessions: readonly SessionRecord[];
  readonly messages: ReadonlyMap<number, MessageRecord>;
  /** In order of seq. */
  readonly queued: readonly QueuedRecord[];
  readonly inbound: ReadonlyArray<{ readonly clientId: string; readonly packetId: number }>;
  readonly retained: readonly MessageRecord[];
}

export interface Store {
  /** False for the memory store: its commits are done when `commit` returns. */
  readonly durable: boolean;
  /** Where the data is, for logs ("memory" for the memory store). */
  readonly location: string;
  load(): Promise<StoredState>;
  /**
   * Applies the writes, in order, as one transaction. Resolves once they are durable (a crash
   * after that keeps them); rejects when nothing of them was kept. The memory store returns
   * undefined: applied at once.
   */
  commit(writes: readonly StoreWrite[]): Promise<void> | undefined;
  close(): Promise<void>;
}
