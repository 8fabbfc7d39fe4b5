// UNSUBSCRIBE: packet id, v5 properties, one or more topic filters.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, UnsubscribePacket } from '../packets.js';
import { readProperties } from '../properties.js';
import { protocolViolation } from '../protocol-error.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readPacketId } from './field-checks.js';

export function decodeUnsubscribe(r: WireReader, flags: number, version: ProtocolVersion): UnsubscribePacket {
  expectFlags(flags, 0b0010, 'UNSUBSCRIBE');
  const packetId = readPacketId(r, 'UNSUBSCRIBE');
  const properties = version === 5 ? readProperties(r, PacketType.unsubscribe) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining > 0) topicFilters.push(r.utf8('topic filter'));
  if (topicFilters.length === 0) {
    throw protocolViolation('ERR_EMPTY_PAYLOAD', 'UNSUBSCRIBE has no topic filter [MQTT-3.10.3-2]');
  }
  return properties
    ? { type: 'unsubscribe', packetId, topicFilters, properties }
    : { type: 'unsubscribe', packetId, topicFilters };
}
