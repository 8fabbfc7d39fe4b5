// PUBLISH encoder. encodePublish gives one buffer (payload copied in); encodePublishHeader gives
// everything before the payload, so a sender can write header and payload without copying it.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, PublishPacket } from '../packets.js';
import { propertiesSize, writeProperties } from '../properties.js';
import { outOfRange, utf8Size, varintSize, WireWriter } from '../wire-writer.js';

export function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const w = writeHeader(p, version, false);
  w.bytes(p.payload);
  return w.buf;
}

export function encodePublishHeader(p: PublishPacket, version: ProtocolVersion): Buffer {
  return writeHeader(p, version, true).buf;
}

/** Bytes the whole PUBLISH takes on the wire, fixed header included (to check a peer's Maximum Packet Size). */
export function publishPacketSize(p: PublishPacket, version: ProtocolVersion): number {
  const { size } = bodySize(p, version);
  return 1 + varintSize(size) + size;
}

function bodySize(p: PublishPacket, version: ProtocolVersion): { size: number; propsSize: number } {
  const qos = p.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw outOfRange(`PUBLISH QoS ${String(qos)} is not 0, 1 or 2`);
  let size = utf8Size(p.topic, 'topic name') + p.payload.length;
  if (qos > 0) {
    const id = p.packetId;
    if (id === undefined || id < 1 || id > 0xffff)
      throw outOfRange(`PUBLISH QoS ${qos} needs a packet id 1..65535`);
    size += 2;
  }
  const propsSize = version === 5 ? propertiesSize(p.properties, PacketType.publish) : 0;
  if (version === 5) size += varintSize(propsSize) + propsSize;
  return { size, propsSize };
}

function writeHeader(p: PublishPacket, version: ProtocolVersion, headerOnly: boolean): WireWriter {
  const qos = p.qos;
  const { size, propsSize } = bodySize(p, version);
  const first = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  const w = new WireWriter(first, size, headerOnly ? p.payload.length : 0);
  w.utf8(p.topic);
  if (qos > 0) w.u16(p.packetId!);
  if (version === 5) writeProperties(w, p.properties, propsSize);
  return w;
}
