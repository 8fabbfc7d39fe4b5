// CONNACK encoder: the mirror of decode/connack.ts.

import { PacketType } from '../packet-type.js';
import type { ConnackPacket, ProtocolVersion } from '../packets.js';
import { propertiesSize, writeProperties } from '../properties.js';
import { varintSize, WireWriter } from '../wire-writer.js';

export function encodeConnack(p: ConnackPacket, version: ProtocolVersion): Buffer {
  const propsSize = version === 5 ? propertiesSize(p.properties, PacketType.connack) : 0;
  const w = new WireWriter(0x20, version === 5 ? 2 + varintSize(propsSize) + propsSize : 2);
  w.u8(p.sessionPresent ? 1 : 0);
  w.u8(p.reasonCode);
  if (version === 5) writeProperties(w, p.properties, propsSize);
  return w.buf;
}
