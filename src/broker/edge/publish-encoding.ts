// The bytes of an outgoing PUBLISH, encoded once per fan-out. The core delivers one message to its
// subscribers one after the other, each as its own PublishPacket; at QoS 0 (no packet id) those
// packets are byte for byte the same for every subscriber on one protocol version, so the bytes
// made for the first serve the rest: one buffer for a thousand sockets instead of a thousand
// copies of the payload, which is most of what a fan-out allocates and the garbage collector
// then chases (bench:hostile's slow consumers). A packet differing in any field, or with
// properties of its own (a topic alias, the expiry left, subscription identifiers), is encoded
// afresh. Buffers written to a socket are never changed afterwards, so sharing one is safe.

import {
  encodePacket,
  encodePublishHeader,
  type ProtocolVersion,
  type PublishPacket,
} from '../../protocol/index.js';

/** Above this a PUBLISH payload goes to the socket as its own buffer instead of being copied. */
export const ZERO_COPY_PAYLOAD = 2048;

// The last QoS 0 encoding, by the identity of what it was made from (kept in plain variables: no
// object per lookup).
let lastPayload: Buffer | undefined;
let lastTopic = '';
let lastProperties: object | undefined;
let lastRetain = false;
let lastVersion = 0;
let lastBytes: Buffer | undefined;

/**
 * What to write for `packet`: the whole packet, or (a payload over ZERO_COPY_PAYLOAD) its header,
 * to be followed by the payload itself.
 */
export function publishBytes(packet: PublishPacket, version: ProtocolVersion): Buffer {
  if (packet.qos !== 0 || packet.dup) return encode(packet, version);
  if (
    packet.payload === lastPayload &&
    packet.topic === lastTopic &&
    packet.properties === lastProperties &&
    packet.retain === lastRetain &&
    version === lastVersion
  )
    return lastBytes!;
  const bytes = encode(packet, version);
  lastPayload = packet.payload;
  lastTopic = packet.topic;
  lastProperties = packet.properties;
  lastRetain = packet.retain;
  lastVersion = version;
  lastBytes = bytes;
  return bytes;
}

function encode(packet: PublishPacket, version: ProtocolVersion): Buffer {
  return packet.payload.length > ZERO_COPY_PAYLOAD
    ? encodePublishHeader(packet, version)
    : encodePacket(packet, version);
}
