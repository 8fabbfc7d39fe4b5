// UNSUBACK: packet id; on v5 also properties and one reason code per filter. v3 carries nothing else.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, UnsubackPacket } from '../packets.js';
import { readProperties } from '../properties.js';
import { protocolViolation } from '../protocol-error.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readPacketId, readReasonCode } from './field-checks.js';

export function decodeUnsuback(r: WireReader, flags: number, version: ProtocolVersion): UnsubackPacket {
  expectFlags(flags, 0, 'UNSUBACK');
  const packetId = readPacketId(r, 'UNSUBACK');
  if (version !== 5) {
    r.expectEnd('UNSUBACK');
    return { type: 'unsuback', packetId };
  }
  const properties = readProperties(r, PacketType.unsuback);
  const reasonCodes: number[] = [];
  while (r.remaining > 0) reasonCodes.push(readReasonCode(r, 'unsuback', 'UNSUBACK'));
  if (reasonCodes.length === 0) throw protocolViolation('ERR_EMPTY_PAYLOAD', 'UNSUBACK has no reason code');
  return properties
    ? { type: 'unsuback', packetId, reasonCodes, properties }
    : { type: 'unsuback', packetId, reasonCodes };
}
