// The Packet union, discriminated on `type`, with the spec's field names spelled out.
// Packets are plain readonly data: the codec and the broker core share them, nothing here does I/O.

import type { Properties } from './properties.js';

/** Protocol level in CONNECT: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

export { PacketType, type PacketTypeName } from './packet-type.js';

export interface Will {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** v5 will properties (willDelayInterval, messageExpiryInterval, contentType, ...). */
  readonly properties?: Properties;
}

export interface ConnectPacket {
  readonly type: 'connect';
  /** "MQTT" for levels 4 and 5, "MQIsdp" for level 3. */
  readonly protocolName: string;
  readonly protocolVersion: ProtocolVersion;
  /** Clean Session (3.1, 3.1.1) or Clean Start (5.0). */
  readonly clean: boolean;
  readonly keepAlive: number;
  readonly clientId: string;
  readonly will?: Will;
  readonly username?: string;
  readonly password?: Buffer;
  readonly properties?: Properties;
  /**
   * 3.1 / 3.1.1 only: the protocol level's high bit (0x83, 0x84), mosquitto's try_private. The
   * client is a bridge: it is not sent back what it published, and retained flags reach it as
   * published, so two brokers bridged both ways do not loop.
   */
  readonly bridge?: boolean;
}

export interface ConnackPacket {
  readonly type: 'connack';
  readonly sessionPresent: boolean;
  /** v3 return code (0..5) or v5 reason code. */
  readonly reasonCode: number;
  readonly properties?: Properties;
}

export interface PublishPacket {
  readonly type: 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  /** Present exactly when qos > 0. */
  readonly packetId?: number;
  readonly properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface PubAckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  readonly type: T;
  readonly packetId: number;
  /** v5 only; absent means 0x00 Success. */
  readonly reasonCode?: number;
  readonly properties?: Properties;
}
export type PubackPacket = PubAckPacket<'puback'>;
export type PubrecPacket = PubAckPacket<'pubrec'>;
export type PubrelPacket = PubAckPacket<'pubrel'>;
export type PubcompPacket = PubAckPacket<'pubcomp'>;

/** v5 Retain Handling: 0 send retained on subscribe, 1 only if new subscription, 2 never. */
export type RetainHandling = 0 | 1 | 2;

export interface Subscription {
  readonly topicFilter: string;
  readonly qos: QoS;
  /** v5 subscription options; false / 0 on v3. */
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: RetainHandling;
}

export interface SubscribePacket {
  readonly type: 'subscribe';
  readonly packetId: number;
  readonly subscriptions: readonly Subscription[];
  readonly properties?: Properties;
}

export interface SubackPacket {
  readonly type: 'suback';
  readonly packetId: number;
  /** Granted QoS or failure code, one per subscription in order. */
  readonly reasonCodes: readonly number[];
  readonly properties?: Properties;
}

export interface UnsubscribePacket {
  readonly type: 'unsubscribe';
  readonly packetId: number;
  readonly topicFilters: readonly string[];
  readonly properties?: Properties;
}

export interface UnsubackPacket {
  readonly type: 'unsuback';
  readonly packetId: number;
  /** v5 only: one per topic filter. v3 UNSUBACK carries none. */
  readonly reasonCodes?: readonly number[];
  readonly properties?: Properties;
}

export interface PingreqPacket {
  readonly type: 'pingreq';
}

export interface PingrespPacket {
  readonly type: 'pingresp';
}

export interface DisconnectPacket {
  readonly type: 'disconnect';
  /** v5 only; absent means 0x00 Normal disconnection. */
  readonly reasonCode?: number;
  readonly properties?: Properties;
}

export interface AuthPacket {
  readonly type: 'auth';
  /** Absent means 0x00 Success. */
  readonly reasonCode?: number;
  readonly properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
