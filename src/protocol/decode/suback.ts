// SUBACK: packet id, v5 properties, one granted QoS or failure code per requested filter.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, SubackPacket } from '../packets.js';
import { readProperties } from '../properties.js';
import { malformed, protocolViolation } from '../protocol-error.js';
import { SubackFailure } from '../reason-codes.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readPacketId, readReasonCode } from './field-checks.js';

export function decodeSuback(r: WireReader, flags: number, version: ProtocolVersion): SubackPacket {
  expectFlags(flags, 0, 'SUBACK');
  const packetId = readPacketId(r, 'SUBACK');
  const properties = version === 5 ? readProperties(r, PacketType.suback) : undefined;
  const reasonCodes: number[] = [];
  while (r.remaining > 0) {
    if (version === 5) {
      reasonCodes.push(readReasonCode(r, 'suback', 'SUBACK'));
    } else {
      const code = r.u8('SUBACK return code');
      if (code > 2 && code !== SubackFailure) {
        throw malformed(
          'ERR_INVALID_REASON_CODE',
          `SUBACK return code 0x${code.toString(16)} is not defined`,
        );
      }
      reasonCodes.push(code);
    }
  }
  if (reasonCodes.length === 0) throw protocolViolation('ERR_EMPTY_PAYLOAD', 'SUBACK has no return code');
  return properties
    ? { type: 'suback', packetId, reasonCodes, properties }
    : { type: 'suback', packetId, reasonCodes };
}
