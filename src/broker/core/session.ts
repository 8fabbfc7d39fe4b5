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

/** Messages kept for an offline persistent session, oldest first. */
const MAX_OFFLINE_MESSAGES = 1000;

export class Session {
  readonly clientId: string;
  /** Filter -> options. */
  readonly subscriptions = new Map<string, SubscriptionOptions>();
  /** Packet id -> the PUBLISH sent and the acknowledgement it waits for. */
  readonly outbound = new Map<number, { packet: PublishPacket; awaiting: OutboundState }>();
  /** QoS 2 packet ids received and not yet released: a resent PUBLISH is not delivered twice. */
  readonly inboundQos2 = new Set<number>();
  /** QoS 1/2 messages that arrived while the client was away. */
  readonly offline: Array<{ message: Message; options: DeliveryOptions }> = [];
  droppedOffline = 0;
  owner: SessionOwner | undefined;
  /** Seconds the session outlives its connection: 0 ends it with the connection. */
  expiryInterval = 0;
  /** Runs out the session after its client left. */
  expiryTimer: Timer | undefined;
  /** A will waiting out its Will Delay Interval [MQTT-3.1.3-9]. */
  pendingWill: { readonly message: Message; readonly timer: Timer } | undefined;
  #nextPacketId = 1;

  constructor(clientId: string) {
    this.clientId = clientId;
  }

  /** The next packet id not in use by an outbound message [MQTT-2.2.1-3]. */
  allocatePacketId(): number | undefined {
    for (let tries = 0; tries < 0xffff; tries++) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 0xffff ? 1 : id + 1;
      if (!this.outbound.has(id)) return id;
    }
    return undefined;
  }

  deliver(message: Message, options: DeliveryOptions): void {
    if (this.owner !== undefined) {
      this.owner.deliver(message, options);
    } else if (options.qos > 0) {
      if (this.offline.length >= MAX_OFFLINE_MESSAGES) {
        this.offline.shift();
        this.droppedOffline++;
      }
      this.offline.push({ message, options });
    }
  }
}
