// PUBACK, PUBREC, PUBREL and PUBCOMP: one shape (packet id; v5 reason code and properties, each
// omitted on the wire when the rest is empty). PUBREL alone has flags 0b0010 [MQTT-3.6.1-1].

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, PubAckPacket } from '../packets.js';
import { readProperties } from '../properties.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readPacketId, readReasonCode } from './field-checks.js';

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

export function decodePubAck<T extends AckType>(
  type: T,
  r: WireReader,
  flags: number,
  version: ProtocolVersion,
): PubAckPacket<T> {
  const name = type.toUpperCase();
  expectFlags(flags, type === 'pubrel' ? 0b0010 : 0, name);
  const packetId = readPacketId(r, name);
  if (version !== 5 || r.remaining === 0) {
    r.expectEnd(name);
    return { type, packetId };
  }
  const context = type === 'puback' || type === 'pubrec' ? 'puback' : 'pubrel';
  const reasonCode = readReasonCode(r, context, name);
  const properties = r.remaining > 0 ? readProperties(r, PacketType[type]) : undefined;
  r.expectEnd(name);
  return properties ? { type, packetId, reasonCode, properties } : { type, packetId, reasonCode };
}
