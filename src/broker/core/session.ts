// One client's MQTT session state: subscriptions, outbound QoS 1/2 messages awaiting their
// acknowledgement, inbound QoS 2 packet ids awaiting PUBREL. Pure state: it never writes.

import type { PublishPacket, QoS } from '../../protocol/index.js';
import type { Message } from './message.js';
import type { Timer } from './ports.js';

/** v5 Session Expiry Interval that means "never expires" [MQTT-3.1.2-11 (v5)]. */
export const NEVER_EXPIRES = 0xffffffff;

export interface SubscriptionOptions {
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionIdentifier?: number;
}

export type OutboundState = 'puback' | 'pubrec' | 'pubcomp';

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

export class Session {
  readonly clientId: string;
  // The collections below are made on first use: an idle client (most of a telemetry fleet, most
  // of the time) never needs them, and an empty Map or Set still costs a few hundred bytes.
  #subscriptions: Map<string, SubscriptionOptions> | undefined;
  #outbound: Map<number, { packet: PublishPacket; awaiting: OutboundState }> | undefined;
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
  get outbound(): Map<number, { packet: PublishPacket; awaiting: OutboundState }> {
    this.#outbound ??= new Map();
    return this.#outbound;
  }

  /** Messages sent and not yet acknowledged, without making the map. */
  get outboundCount(): number {
    return this.#outbound?.size ?? 0;
  }

  /** QoS 2 packet ids received and not yet released: a resent PUBLISH is not delivered twice. */
  get inboundQos2(): Set<number> {
    this.#inboundQos2 ??= new Set();
    return this.#inboundQos2;
  }
  /** QoS 1/2 messages that arrived while the client was away. */
  /** QoS 1/2 messages waiting: the client is away, or its in-flight window is full. Oldest first. */
  readonly queue: Array<{ message: Message; options: DeliveryOptions }> = [];
  /** The most the queue holds (Mosquitto's max_queued_messages); beyond it new messages are dropped. */
  readonly maxQueued: number;
  owner: SessionOwner | undefined;
  /** The user name of the last connection that took the session: what deliveries are authorized for. */
  username: string | undefined;
  /** The read check of the listener that connection came through, run for every delivery. */
  mayReceive: ((topic: string) => boolean) | undefined;
  /** Seconds the session outlives its connection: 0 ends it with the connection. */
  expiryInterval = 0;
  /** Runs out the session after its client left. */
  expiryTimer: Timer | undefined;
  /** A will waiting out its Will Delay Interval [MQTT-3.1.3-9]. */
  pendingWill: { readonly message: Message; readonly timer: Timer } | undefined;
  #nextPacketId = 1;

  constructor(clientId: string, maxQueued: number) {
    this.clientId = clientId;
    this.maxQueued = maxQueued;
  }

  /** Stops the expiry timer and a will waiting for its delay; returns that will, not yet published. */
  stopTimers(): Message | undefined {
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
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

  /** To the connected client, or into the queue while it is away (QoS 0 is not kept, as in Mosquitto). */
  deliver(message: Message, options: DeliveryOptions, stats: { messagesDroppedQueueFull: number }): void {
    if (this.owner !== undefined) this.owner.deliver(message, options);
    else if (options.qos > 0) this.enqueue(message, options, stats);
  }

  /** Keeps a message for later; when the queue is full the new message is dropped and counted. */
  enqueue(message: Message, options: DeliveryOptions, stats: { messagesDroppedQueueFull: number }): void {
    if (this.queue.length >= this.maxQueued) {
      stats.messagesDroppedQueueFull++;
      return;
    }
    this.queue.push({ message, options });
  }
}
