// SUBSCRIBE encoder: packet id, v5 properties, filters with their options byte.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, SubscribePacket } from '../packets.js';
import { propertiesSize, writeProperties } from '../properties.js';
import { outOfRange, utf8Size, varintSize, WireWriter } from '../wire-writer.js';
import { checkPacketId } from './pub-ack.js';

export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Buffer {
  checkPacketId(p.packetId, 'SUBSCRIBE');
  if (p.subscriptions.length === 0)
    throw outOfRange('SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-2]');
  let size = 2;
  const propsSize = version === 5 ? propertiesSize(p.properties, PacketType.subscribe) : 0;
  if (version === 5) size += varintSize(propsSize) + propsSize;
  for (const s of p.subscriptions) size += utf8Size(s.topicFilter, 'topic filter') + 1;
  const w = new WireWriter(0x82, size);
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, propsSize);
  for (const s of p.subscriptions) {
    w.utf8(s.topicFilter);
    let options = s.qos;
    if (version === 5) {
      options |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | (s.retainHandling << 4);
    }
    w.u8(options);
  }
  return w.buf;
}
