// PINGREQ and PINGRESP: a fixed header and nothing else.

import type { PingreqPacket, PingrespPacket } from '../packets.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags } from './field-checks.js';

const PINGREQ: PingreqPacket = Object.freeze({ type: 'pingreq' });
const PINGRESP: PingrespPacket = Object.freeze({ type: 'pingresp' });

export function decodePing(
  type: 'pingreq' | 'pingresp',
  r: WireReader,
  flags: number,
): PingreqPacket | PingrespPacket {
  // Constant names: a PINGREQ storm makes no string per packet.
  const name = type === 'pingreq' ? 'PINGREQ' : 'PINGRESP';
  expectFlags(flags, 0, name);
  r.expectEnd(name);
  return type === 'pingreq' ? PINGREQ : PINGRESP;
}
