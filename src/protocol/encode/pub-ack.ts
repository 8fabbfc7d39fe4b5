// PUBACK, PUBREC, PUBREL, PUBCOMP encoder: packet id, then on v5 the reason tail.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, PubAckPacket } from '../packets.js';
import { outOfRange, WireWriter } from '../wire-writer.js';
import { reasonTailSize, writeReasonTail } from './reason-tail.js';

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

export function encodePubAck(p: PubAckPacket<AckType>, version: ProtocolVersion): Buffer {
  checkPacketId(p.packetId, p.type);
  const type = PacketType[p.type];
  const first = (type << 4) | (p.type === 'pubrel' ? 0b0010 : 0);
  if (version !== 5) {
    const w = new WireWriter(first, 2);
    w.u16(p.packetId);
    return w.buf;
  }
  const tail = reasonTailSize(p.reasonCode, p.properties, type);
  const w = new WireWriter(first, 2 + tail.size);
  w.u16(p.packetId);
  writeReasonTail(w, p.reasonCode, p.properties, tail);
  return w.buf;
}

export function checkPacketId(id: number, packet: string): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffff)
    throw outOfRange(`${packet} packet id ${id} is outside 1..65535`);
}
