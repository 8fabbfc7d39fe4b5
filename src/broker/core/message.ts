// An application message as the broker routes and stores it, apart from any one packet.

import type { Properties, QoS } from '../../protocol/index.js';

export interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** v5 properties passed through to subscribers (never topicAlias or subscription identifiers). */
  readonly properties?: Properties;
}

/** The properties a publisher sets that travel with the message to its subscribers. */
export function forwardedProperties(properties: Properties | undefined): Properties | undefined {
  if (properties === undefined) return undefined;
  if (properties.topicAlias === undefined && properties.subscriptionIdentifiers === undefined)
    return properties;
  const { topicAlias: _alias, subscriptionIdentifiers: _ids, ...rest } = properties;
  return Object.keys(rest).length > 0 ? rest : undefined;
}
