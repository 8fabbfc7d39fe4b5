// UNSUBACK encoder: packet id; on v5 properties and one reason code per filter.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, UnsubackPacket } from '../packets.js';
import { propertiesSize, writeProperties } from '../properties.js';
import { varintSize, WireWriter } from '../wire-writer.js';
import { checkPacketId } from './pub-ack.js';

export function encodeUnsuback(p: UnsubackPacket, version: ProtocolVersion): Buffer {
  checkPacketId(p.packetId, 'UNSUBACK');
  if (version !== 5) {
    const w = new WireWriter(0xb0, 2);
    w.u16(p.packetId);
    return w.buf;
  }
  const codes = p.reasonCodes ?? [];
  const propsSize = propertiesSize(p.properties, PacketType.unsuback);
  const w = new WireWriter(0xb0, 2 + varintSize(propsSize) + propsSize + codes.length);
  w.u16(p.packetId);
  writeProperties(w, p.properties, propsSize);
  for (const code of codes) w.u8(code);
  return w.buf;
}
