// SUBACK encoder: packet id, v5 properties, one code per filter.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, SubackPacket } from '../packets.js';
import { propertiesSize, writeProperties } from '../properties.js';
import { varintSize, WireWriter } from '../wire-writer.js';
import { checkPacketId } from './pub-ack.js';

export function encodeSuback(p: SubackPacket, version: ProtocolVersion): Buffer {
  checkPacketId(p.packetId, 'SUBACK');
  const propsSize = version === 5 ? propertiesSize(p.properties, PacketType.suback) : 0;
  const size = 2 + (version === 5 ? varintSize(propsSize) + propsSize : 0) + p.reasonCodes.length;
  const w = new WireWriter(0x90, size);
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, propsSize);
  for (const code of p.reasonCodes) w.u8(code);
  return w.buf;
}
