// Dispatch of one complete packet body to its decoder by the fixed header's type nibble.

import type { Packet, ProtocolVersion } from '../packets.js';
import { malformed } from '../protocol-error.js';
import type { WireReader } from '../wire-reader.js';
import { decodeAuth } from './auth.js';
import { decodeConnack } from './connack.js';
import { decodeConnect } from './connect.js';
import { decodeDisconnect } from './disconnect.js';
import { decodePing } from './ping.js';
import { decodePubAck } from './pub-ack.js';
import { decodePublish } from './publish.js';
import { decodeSuback } from './suback.js';
import { decodeSubscribe } from './subscribe.js';
import { decodeUnsuback } from './unsuback.js';
import { decodeUnsubscribe } from './unsubscribe.js';

/** Decodes the body in r (positioned after the fixed header); the first byte gives type and flags. */
export function decodePacket(r: WireReader, firstByte: number, version: ProtocolVersion): Packet {
  const flags = firstByte & 0x0f;
  switch (firstByte >> 4) {
    case 3:
      return decodePublish(r, flags, version);
    case 1:
      return decodeConnect(r, flags);
    case 2:
      return decodeConnack(r, flags, version);
    case 4:
      return decodePubAck('puback', r, flags, version);
    case 5:
      return decodePubAck('pubrec', r, flags, version);
    case 6:
      return decodePubAck('pubrel', r, flags, version);
    case 7:
      return decodePubAck('pubcomp', r, flags, version);
    case 8:
      return decodeSubscribe(r, flags, version);
    case 9:
      return decodeSuback(r, flags, version);
    case 10:
      return decodeUnsubscribe(r, flags, version);
    case 11:
      return decodeUnsuback(r, flags, version);
    case 12:
      return decodePing('pingreq', r, flags);
    case 13:
      return decodePing('pingresp', r, flags);
    case 14:
      return decodeDisconnect(r, flags, version);
    case 15:
      return decodeAuth(r, flags, version);
    default:
      throw malformed('ERR_RESERVED_PACKET_TYPE', 'packet type 0 is reserved [MQTT-2.1.2]');
  }
}
