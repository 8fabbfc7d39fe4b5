// SUBSCRIBE: packet id, v5 properties (at most one subscription identifier), then one or more
// topic filters each with its options byte.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, QoS, RetainHandling, SubscribePacket, Subscription } from '../packets.js';
import { readProperties } from '../properties.js';
import { malformed, protocolViolation } from '../protocol-error.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readPacketId } from './field-checks.js';

export function decodeSubscribe(r: WireReader, flags: number, version: ProtocolVersion): SubscribePacket {
  expectFlags(flags, 0b0010, 'SUBSCRIBE');
  const packetId = readPacketId(r, 'SUBSCRIBE');
  const properties = version === 5 ? readProperties(r, PacketType.subscribe) : undefined;
  if ((properties?.subscriptionIdentifiers?.length ?? 0) > 1) {
    throw protocolViolation(
      'ERR_DUPLICATE_PROPERTY',
      'SUBSCRIBE carries more than one subscription identifier',
    );
  }
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    const topicFilter = r.utf8('topic filter');
    subscriptions.push(readOptions(topicFilter, r.u8('subscription options'), version));
  }
  if (subscriptions.length === 0) {
    throw protocolViolation('ERR_EMPTY_PAYLOAD', 'SUBSCRIBE has no topic filter [MQTT-3.8.3-2]');
  }
  return properties
    ? { type: 'subscribe', packetId, subscriptions, properties }
    : { type: 'subscribe', packetId, subscriptions };
}

function readOptions(topicFilter: string, options: number, version: ProtocolVersion): Subscription {
  const reserved = version === 5 ? 0xc0 : 0xfc;
  if (options & reserved) {
    throw malformed(
      'ERR_SUBSCRIPTION_OPTIONS',
      `subscription options 0x${options.toString(16)} set reserved bits`,
    );
  }
  const qos = options & 0x03;
  if (qos === 3) throw malformed('ERR_INVALID_QOS', `subscription to "${topicFilter}" asks for QoS 3`);
  const retainHandling = (options >> 4) & 0x03;
  if (retainHandling === 3) {
    throw protocolViolation('ERR_SUBSCRIPTION_OPTIONS', 'retain handling 3 is reserved [MQTT-3.8.3-4]');
  }
  return {
    topicFilter,
    qos: qos as QoS,
    noLocal: (options & 0x04) !== 0,
    retainAsPublished: (options & 0x08) !== 0,
    retainHandling: retainHandling as RetainHandling,
  };
}
