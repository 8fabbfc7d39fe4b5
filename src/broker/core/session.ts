// One client's MQTT session state: subscriptions, outbound QoS 1/2 messages awaiting their
// acknowledgement, inbound QoS 2 packet ids awaiting PUBREL. Pure state: it never writes to a
// connection; its QoS methods return the packet to answer with, and tell its journal (a
// persistent session's) every change, so the store follows.

import type { PubAckPacket, PublishPacket, QoS } from '../../protocol/index.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { Message } from './message.js';
import type { Timer } from './ports.js';
import type { AwaitedAck } from './store-ports.js';

/** v5 Session Expiry Interval that means "never expires" [MQTT-3.1.2-11 (v5)]. */
export const NEVER_EXPIRES = 0xffffffff;

export interface SubscriptionOptions {
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionIdentifier?: number;
}

export type OutboundState = AwaitedAck;

/** The connection a session is bound to while its client is connected. */
export interface SessionOwner {
  /** Delivers a message to the connected client. */
  deliver(message: Message, options: DeliveryOptions): void;
  /** Gives the session up to a newer connection with the same client id. */
  takeover(): void;
}

export interface DeliveryOptions {
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIdentifiers?: readonly number[];
}

/**
 * Where a persistent session's kept message is in the store: its key (seq), its last write not
 * yet committed (a later write or the deletion can take its place in the same transaction), and
 * whether some version of it is already on disk.
 */
export interface StoredPlace {
  readonly seq: number;
  pending: object | undefined;
  onDisk: boolean;
}

/** The bounds of a session's queue (the broker's options of the same names). */
export interface QueueLimits {
  /** Mosquitto's max_queued_messages. */
  readonly maxQueuedMessages: number;
  /** Mosquitto's max_queued_bytes: payload bytes; 0 for no limit. */
  readonly maxQueuedBytes: number;
  /** QoS 0 messages wait in the queue too while the client is away (queue_qos0_messages). */
  readonly queueQos0Messages: boolean;
}

/** A QoS 1/2 message kept for the session; `stored` is set while the store holds it. */
export interface QueuedDelivery {
  readonly message: Message;
  readonly options: DeliveryOptions;
  stored?: StoredPlace;
}

export interface OutboundEntry extends QueuedDelivery {
  readonly packet: PublishPacket;
  awaiting: OutboundState;
}

/** What a persistent session tells the store of; absent on a session that ends with its connection. */
export interface SessionJournal {
  /** A message joins the session: waiting, or (with its packet) in flight at once. */
  kept(session: Session, item: QueuedDelivery, inFlight?: OutboundEntry): void;
  /** A kept message was sent, or its flow moved on (PUBREC received). */
  progressed(session: Session, entry: OutboundEntry): void;
  /** A kept message is done with: acknowledged, expired or discarded. */
  dropped(session: Session, item: QueuedDelivery): void;
  inbound(session: Session, packetId: number, present: boolean): void;
}

type Ack = PubAckPacket<'pubrel' | 'pubcomp'>;

export class Session {
  readonly clientId: string;
  // The collections below are made on first use: an idle client (most of a telemetry fleet, most
  // of the time) never needs them, and an empty Map or Set still costs a few hundred bytes.
  #subscriptions: Map<string, SubscriptionOptions> | undefined;
  #outbound: Map<number, OutboundEntry> | undefined;
  #inboundQos2: Set<number> | undefined;

  /** Filter -> options. */
  get subscriptions(): Map<string, SubscriptionOptions> {
    this.#subscriptions ??= new Map();
    return this.#subscriptions;
  }

  get subscriptionCount(): number {
    return this.#subscriptions?.size ?? 0;
  }

  /** Packet id -> the PUBLISH sent and the acknowledgement it waits for. */
  get outbound(): ReadonlyMap<number, OutboundEntry> {
    this.#outbound ??= new Map();
    return this.#outbound;
  }

  /** Messages sent and not yet acknowledged, without making the map. */
  get outboundCount(): number {
    return this.#outbound?.size ?? 0;
  }

  /** QoS 2 packet ids received and not yet released: a resent PUBLISH is not delivered twice. */
  get inboundQos2(): ReadonlySet<number> {
    this.#inboundQos2 ??= new Set();
    return this.#inboundQos2;
  }

  /** QoS 1/2 messages waiting: the client is away, or its in-flight window is full. Oldest first. */
  readonly queue = new DeliveryQueue<QueuedDelivery>();
  /** What the queue may hold; past it new messages are dropped. */
  readonly limits: QueueLimits;
  /** Messages this session lost to a full queue (a bridge reports its own). */
  droppedQueueFull = 0;
  owner: SessionOwner | undefined;
  /** Set while the session is persistent (expiry above 0): the store follows every change. */
  journal: SessionJournal | undefined;
  /** The user name of the last connection that took the session: what deliveries are authorized for. */
  username: string | undefined;
  /** The read check of the listener that connection came through, run for every delivery. */
  mayReceive: ((topic: string) => boolean) | undefined;
  /** Seconds the session outlives its connection: 0 ends it with the connection. */
  expiryInterval = 0;
  /** Absolute clock time the session ends, while its client is away; undefined: not counting. */
  expiresAt: number | undefined;
  /** Runs out the session after its client left. */
  expiryTimer: Timer | undefined;
  /** The will of the connection holding the session: kept with a persistent session. */
  will: Message | undefined;
  /** A will waiting out its Will Delay Interval [MQTT-3.1.3-9]. */
  pendingWill: { readonly message: Message; readonly at: number; readonly timer: Timer } | undefined;
  /** The session left for another node of the cluster: its end here is not its end. */
  handedOver = false;
  /** A cluster keeps the record of a session that ends with its connection, for its will only. */
  willRecorded = false;
  /**
   * The router's marks: the last publish that matched this session and its place among that
   * publish's deliveries, which finds a second matching subscription without a map per publish.
   */
  routedBy = 0;
  routedAt = 0;
  #nextPacketId = 1;

  constructor(clientId: string, limits: QueueLimits) {
    this.clientId = clientId;
    this.limits = limits;
  }

  /** Stops the expiry timer and a will waiting for its delay; returns that will, not yet published. */
  stopTimers(): Message | undefined {
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    this.expiresAt = undefined;
    const will = this.pendingWill;
    this.pendingWill = undefined;
    will?.timer.cancel();
    return will?.message;
  }

  /** The next packet id not in use by an outbound message [MQTT-2.2.1-3]. */
  allocatePacketId(): number | undefined {
    for (let tries = 0; tries < 0xffff; tries++) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 0xffff ? 1 : id + 1;
      if (this.#outbound?.has(id) !== true) return id;
    }
    return undefined;
  }

  /**
   * To the connected client, or into the queue while it is away. QoS 0 is not kept, as in
   * Mosquitto, unless queueQos0 (its queue_qos0_messages).
   */
  deliver(message: Message, options: DeliveryOptions, stats: { messagesDroppedQueueFull: number }): void {
    if (this.owner !== undefined) this.owner.deliver(message, options);
    else if (options.qos > 0 || this.limits.queueQos0Messages) this.keep(message, options, stats);
  }

  /**
   * Keeps a new message for later; when the queue is full it is dropped and counted, before
   * anything is made for it (a stalled subscriber's full queue sees every message go by).
   */
  keep(message: Message, options: DeliveryOptions, stats: { messagesDroppedQueueFull: number }): void {
    if (this.#full()) this.#dropNew(stats);
    else this.#keepNew({ message, options });
  }

  /** Keeps a message for later; when the queue is full the new message is dropped and counted. */
  enqueue(item: QueuedDelivery, stats: { messagesDroppedQueueFull: number }): void {
    // One the store holds already (put back, or recovered) always has its place.
    if (item.stored !== undefined) this.queue.push(item);
    else if (this.#full()) this.#dropNew(stats);
    else this.#keepNew(item);
  }

  #keepNew(item: QueuedDelivery): void {
    this.queue.push(item);
    this.journal?.kept(this, item);
  }

  #dropNew(stats: { messagesDroppedQueueFull: number }): void {
    stats.messagesDroppedQueueFull++;
    this.droppedQueueFull++;
  }

  /**
   * Whether a new message finds no room: max_queued_messages reached, or max_queued_bytes (0: no
   * limit) reached. As in Mosquitto, the bytes are checked before the message is added: the last
   * one in may take the queue past the bound by its own size.
   */
  #full(): boolean {
    const { maxQueuedMessages, maxQueuedBytes } = this.limits;
    return (
      this.queue.length >= maxQueuedMessages || (maxQueuedBytes > 0 && this.queue.bytes >= maxQueuedBytes)
    );
  }

  /** A kept message will not be sent: expired, or too large for the client. */
  discard(item: QueuedDelivery): void {
    if (item.stored !== undefined) this.journal?.dropped(this, item);
  }

  /**
   * A QoS 1/2 PUBLISH is going out: it stays in flight until its flow completes. `stored` is set
   * when it comes from the queue of a persistent session (the store already holds it).
   */
  sent(
    message: Message,
    options: DeliveryOptions,
    stored: StoredPlace | undefined,
    packet: PublishPacket,
  ): void {
    const awaiting = packet.qos === 1 ? 'puback' : 'pubrec';
    const entry: OutboundEntry = { message, options, stored, packet, awaiting };
    this.#outbound ??= new Map();
    this.#outbound.set(packet.packetId!, entry);
    if (this.journal === undefined) return;
    if (stored === undefined) this.journal.kept(this, entry, entry);
    else this.journal.progressed(this, entry);
  }

  /** PUBACK, or PUBCOMP, or a PUBREC with an error: the flow is over; true when it was in flight. */
  complete(packetId: number, awaiting: OutboundState): boolean {
    const entry = this.#outbound?.get(packetId);
    if (entry?.awaiting !== awaiting) return false;
    this.#outbound!.delete(packetId);
    this.journal?.dropped(this, entry);
    return true;
  }

  /** PUBREC: the message arrived; the answer is PUBREL (0x92 on v5 when the id is unknown). */
  received(packetId: number): Ack & { readonly found: boolean } {
    const entry = this.#outbound?.get(packetId);
    if (entry?.awaiting === 'pubrec') {
      entry.awaiting = 'pubcomp';
      this.journal?.progressed(this, entry);
    }
    return { type: 'pubrel', packetId, found: entry !== undefined };
  }

  /** An inbound QoS 2 PUBLISH: true when it is new (route it), false when it is a resend. */
  receiveQos2(packetId: number): boolean {
    this.#inboundQos2 ??= new Set();
    if (this.#inboundQos2.has(packetId)) return false;
    this.#inboundQos2.add(packetId);
    this.journal?.inbound(this, packetId, true);
    return true;
  }

  /** PUBREL: the QoS 2 flow in is over; the answer is PUBCOMP. */
  release(packetId: number): Ack & { readonly found: boolean } {
    const found = this.#inboundQos2?.delete(packetId) === true;
    if (found) this.journal?.inbound(this, packetId, false);
    return { type: 'pubcomp', packetId, found };
  }

  /** Every kept message, in flight first: what a store holds for this session. */
  *kept(): IterableIterator<QueuedDelivery> {
    if (this.#outbound !== undefined) yield* this.#outbound.values();
    yield* this.queue;
  }

  /** Recovery: a message that was in flight when the broker stopped, resent on reconnect. */
  restoreInFlight(entry: OutboundEntry): void {
    this.#outbound ??= new Map();
    this.#outbound.set(entry.packet.packetId!, entry);
  }

  /** Recovery: an inbound QoS 2 id that was not yet released. */
  restoreInbound(packetId: number): void {
    this.#inboundQos2 ??= new Set();
    this.#inboundQos2.add(packetId);
  }
}
