// Dispatch of a Packet to its encoder: one buffer holding the whole packet.

import type { Packet, ProtocolVersion } from '../packets.js';
import { WireWriter } from '../wire-writer.js';
import { encodeConnack } from './connack.js';
import { encodeConnect } from './connect.js';
import { encodePubAck } from './pub-ack.js';
import { encodePublish } from './publish.js';
import { encodeAuth, encodeDisconnect } from './reason-only.js';
import { encodeSuback } from './suback.js';
import { encodeSubscribe } from './subscribe.js';
import { encodeUnsuback } from './unsuback.js';
import { encodeUnsubscribe } from './unsubscribe.js';

/** Encodes for the given protocol version; CONNECT carries its own. */
export function encodePacket(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version);
    case 'connect':
      return encodeConnect(packet);
    case 'connack':
      return encodeConnack(packet, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return encodePubAck(packet, version);
    case 'subscribe':
      return encodeSubscribe(packet, version);
    case 'suback':
      return encodeSuback(packet, version);
    case 'unsubscribe':
      return encodeUnsubscribe(packet, version);
    case 'unsuback':
      return encodeUnsuback(packet, version);
    case 'pingreq':
      return new WireWriter(0xc0, 0).buf;
    case 'pingresp':
      return new WireWriter(0xd0, 0).buf;
    case 'disconnect':
      return encodeDisconnect(packet, version);
    case 'auth':
      return encodeAuth(packet, version);
  }
}
