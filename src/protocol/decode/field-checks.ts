// Checks every decoder shares: the fixed header's reserved flag bits, non-zero packet
// identifiers, and reason codes the packet may carry.

import { malformed, protocolViolation } from '../protocol-error.js';
import { isReasonCodeAllowed, type ReasonCodeContext } from '../reason-codes.js';
import type { WireReader } from '../wire-reader.js';

/** [MQTT-2.1.3-1]: reserved flag bits must hold exactly the value the spec lists. */
export function expectFlags(flags: number, expected: number, packet: string): void {
  if (flags !== expected) {
    throw malformed(
      'ERR_RESERVED_FLAGS',
      `${packet} fixed header flags are 0x${flags.toString(16)}, not 0x${expected}`,
    );
  }
}

/** [MQTT-2.2.1-3]: a packet identifier is never 0. */
export function readPacketId(r: WireReader, packet: string): number {
  const id = r.u16(`${packet} packet identifier`);
  if (id === 0) throw protocolViolation('ERR_PACKET_ID_ZERO', `${packet} packet identifier is 0`);
  return id;
}

export function readReasonCode(r: WireReader, context: ReasonCodeContext, packet: string): number {
  const code = r.u8(`${packet} reason code`);
  if (!isReasonCodeAllowed(context, code)) {
    throw malformed(
      'ERR_INVALID_REASON_CODE',
      `${packet} reason code 0x${code.toString(16)} is not defined for it`,
    );
  }
  return code;
}
