// DISCONNECT: empty on v3; on v5 an optional reason code then optional properties.

import { PacketType } from '../packet-type.js';
import type { DisconnectPacket, ProtocolVersion } from '../packets.js';
import { readProperties } from '../properties.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readReasonCode } from './field-checks.js';

export function decodeDisconnect(r: WireReader, flags: number, version: ProtocolVersion): DisconnectPacket {
  expectFlags(flags, 0, 'DISCONNECT');
  if (version !== 5 || r.remaining === 0) {
    r.expectEnd('DISCONNECT');
    return { type: 'disconnect' };
  }
  const reasonCode = readReasonCode(r, 'disconnect', 'DISCONNECT');
  const properties = r.remaining > 0 ? readProperties(r, PacketType.disconnect) : undefined;
  r.expectEnd('DISCONNECT');
  return properties ? { type: 'disconnect', reasonCode, properties } : { type: 'disconnect', reasonCode };
}
