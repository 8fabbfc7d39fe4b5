// CONNACK: acknowledge flags, return code (v3) or reason code (v5), v5 properties.

import { PacketType } from '../packet-type.js';
import type { ConnackPacket, ProtocolVersion } from '../packets.js';
import { readProperties } from '../properties.js';
import { malformed } from '../protocol-error.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readReasonCode } from './field-checks.js';

export function decodeConnack(r: WireReader, flags: number, version: ProtocolVersion): ConnackPacket {
  expectFlags(flags, 0, 'CONNACK');
  const ackFlags = r.u8('connect acknowledge flags');
  if (ackFlags & 0xfe) throw malformed('ERR_RESERVED_FLAGS', 'CONNACK reserved acknowledge flags are set');
  const sessionPresent = ackFlags === 1;
  if (version !== 5) {
    const reasonCode = r.u8('CONNACK return code');
    if (reasonCode > 5)
      throw malformed('ERR_INVALID_REASON_CODE', `CONNACK return code ${reasonCode} is not defined`);
    r.expectEnd('CONNACK');
    return { type: 'connack', sessionPresent, reasonCode };
  }
  const reasonCode = readReasonCode(r, 'connack', 'CONNACK');
  const properties = readProperties(r, PacketType.connack);
  r.expectEnd('CONNACK');
  return properties
    ? { type: 'connack', sessionPresent, reasonCode, properties }
    : { type: 'connack', sessionPresent, reasonCode };
}
