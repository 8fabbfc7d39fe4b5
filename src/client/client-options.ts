// What a client is configured with, and what it hands back: connect options (transport, trust,
// MQTT session, reconnect), publish and subscribe options, and a received message.

import type { Duplex } from 'node:stream';
import type { Properties, PublishPacket, QoS, UserProperty } from '../protocol/index.js';
import type { StageEvent } from './connection-stage.js';
import type { TransportOptions } from './connector.js';
import type { ClientAuthMethod } from './scram-client.js';

export interface ConnectOptions extends TransportOptions {
  readonly clientId?: string;
  /** 5 (default) or 4 (3.1.1). */
  readonly protocolVersion?: 4 | 5;
  /** Seconds; 0 turns keep alive off. Default 60. */
  readonly keepAlive?: number;
  /** Clean Session (3.1.1) / Clean Start (5). Default true. */
  readonly clean?: boolean;
  /** v5: seconds the broker keeps the session after a disconnect. */
  readonly sessionExpiryInterval?: number;
  readonly username?: string;
  readonly password?: string | Buffer;
  readonly will?: {
    readonly topic: string;
    readonly payload: string | Buffer;
    readonly qos?: QoS;
    readonly retain?: boolean;
    readonly properties?: Properties;
  };
  readonly userProperties?: readonly UserProperty[];
  /**
   * MQTT 5 enhanced authentication, e.g. scramSha256(user, password): run at every (re)connect;
   * the CONNACK counts only once the method accepted the broker's last word.
   */
  readonly authentication?: ClientAuthMethod;
  /** Before each reconnect: the URL to dial this time (a bridge's addresses in turn). Default: the first. */
  readonly nextUrl?: () => string;
  /** false: no automatic reconnect. Delays in ms; each is jittered to 50-100 %. */
  readonly reconnect?: false | { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** Most QoS 1/2 messages in flight (lowered by the broker's Receive Maximum). Default 100. */
  readonly maxInflight?: number;
  /** Most messages queued while offline. Default 1000; past it publish() rejects. */
  readonly offlineQueueLimit?: number;
  readonly onStage?: (event: StageEvent) => void;
  /**
   * The byte stream to speak MQTT over, instead of dialing the URL (an in-process connection,
   * as a broker's bridge makes to itself). TLS options do not apply to it.
   */
  readonly stream?: () => Promise<Duplex>;
  /**
   * Incoming QoS 1/2 messages are acknowledged (PUBACK / PUBREC) only when their `ack()` is
   * called: a bridge acknowledges a message once the other side has it.
   */
  readonly manualAcks?: boolean;
  /**
   * 3.1.1: announce a bridge (the protocol level's high bit, mosquitto's try_private), so the
   * broker does not send back what this client published. Not all brokers accept it.
   */
  readonly bridge?: boolean;
  /** Told of weakened verification (skip checks). Default: process.emitWarning. */
  readonly onWarning?: (message: string) => void;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties?: Properties;
  readonly packet: PublishPacket;
  /** With manualAcks: acknowledges the message (on the connection it came by; a no-op after). */
  readonly ack?: () => void;
}

export interface PublishOptions {
  readonly qos?: QoS;
  readonly retain?: boolean;
  readonly properties?: Properties;
}

export interface SubscribeOptions {
  readonly qos?: QoS;
  readonly noLocal?: boolean;
  readonly retainAsPublished?: boolean;
  readonly retainHandling?: 0 | 1 | 2;
}
