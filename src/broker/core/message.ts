// An application message as the broker routes and stores it, apart from any one packet.

import { type Properties, type QoS, withProperties } from '../../protocol/index.js';

export interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** v5 properties passed through to subscribers (never topicAlias or subscription identifiers). */
  readonly properties?: Properties;
  /** Clock time after which the message is not delivered (v5 Message Expiry Interval). */
  readonly expiresAt?: number;
  /** Who published a retained message: its rights are checked again when it is sent (check_retain_source). */
  readonly source?: { readonly clientId: string; readonly username?: string };
}

/** Stamps a message's expiry from its Message Expiry Interval, read at the time it was published. */
export function withExpiry(message: Message, now: number): Message {
  const seconds = message.properties?.messageExpiryInterval;
  return seconds === undefined ? message : { ...message, expiresAt: now + seconds * 1000 };
}

/**
 * The properties to send for a message now: the Message Expiry Interval counts down to the time
 * left [MQTT-3.3.2-6]; undefined when the message has expired.
 */
export function propertiesAt(message: Message, now: number): Properties | undefined | 'expired' {
  if (message.expiresAt === undefined) return message.properties;
  const left = Math.ceil((message.expiresAt - now) / 1000);
  if (left <= 0) return 'expired';
  return withProperties(message.properties, { messageExpiryInterval: left });
}

/** The properties a publisher sets that travel with the message to its subscribers. */
export function forwardedProperties(properties: Properties | undefined): Properties | undefined {
  if (properties === undefined) return undefined;
  if (properties.topicAlias === undefined && properties.subscriptionIdentifiers === undefined)
    return properties;
  const rest = withProperties(properties, { topicAlias: undefined, subscriptionIdentifiers: undefined });
  return Object.keys(rest).length > 0 ? rest : undefined;
}
