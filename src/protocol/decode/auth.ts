// AUTH (v5 only): optional reason code then optional properties; an empty AUTH means Success.

import { PacketType } from '../packet-type.js';
import type { AuthPacket, ProtocolVersion } from '../packets.js';
import { readProperties } from '../properties.js';
import { malformed } from '../protocol-error.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags, readReasonCode } from './field-checks.js';

export function decodeAuth(r: WireReader, flags: number, version: ProtocolVersion): AuthPacket {
  if (version !== 5)
    throw malformed('ERR_AUTH_BEFORE_V5', `AUTH does not exist before MQTT 5 (level ${version})`);
  expectFlags(flags, 0, 'AUTH');
  if (r.remaining === 0) return { type: 'auth' };
  const reasonCode = readReasonCode(r, 'auth', 'AUTH');
  const properties = r.remaining > 0 ? readProperties(r, PacketType.auth) : undefined;
  r.expectEnd('AUTH');
  return properties ? { type: 'auth', reasonCode, properties } : { type: 'auth', reasonCode };
}
