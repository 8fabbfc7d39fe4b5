// UNSUBSCRIBE encoder: packet id, v5 properties, filters.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, UnsubscribePacket } from '../packets.js';
import { propertiesSize, writeProperties } from '../properties.js';
import { outOfRange, utf8Size, varintSize, WireWriter } from '../wire-writer.js';
import { checkPacketId } from './pub-ack.js';

export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Buffer {
  checkPacketId(p.packetId, 'UNSUBSCRIBE');
  if (p.topicFilters.length === 0)
    throw outOfRange('UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]');
  let size = 2;
  const propsSize = version === 5 ? propertiesSize(p.properties, PacketType.unsubscribe) : 0;
  if (version === 5) size += varintSize(propsSize) + propsSize;
  for (const filter of p.topicFilters) size += utf8Size(filter, 'topic filter');
  const w = new WireWriter(0xa2, size);
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, propsSize);
  for (const filter of p.topicFilters) w.utf8(filter);
  return w.buf;
}
