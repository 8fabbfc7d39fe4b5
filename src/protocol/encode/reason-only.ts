// DISCONNECT and AUTH encoders: a fixed header and, on v5, the reason tail.

import { PacketType } from '../packet-type.js';
import type { AuthPacket, DisconnectPacket, ProtocolVersion } from '../packets.js';
import { outOfRange, WireWriter } from '../wire-writer.js';
import { reasonTailSize, writeReasonTail } from './reason-tail.js';

export function encodeDisconnect(p: DisconnectPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) return new WireWriter(0xe0, 0).buf;
  const tail = reasonTailSize(p.reasonCode, p.properties, PacketType.disconnect);
  const w = new WireWriter(0xe0, tail.size);
  writeReasonTail(w, p.reasonCode, p.properties, tail);
  return w.buf;
}

export function encodeAuth(p: AuthPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) throw outOfRange(`AUTH does not exist before MQTT 5 (level ${version})`);
  const tail = reasonTailSize(p.reasonCode, p.properties, PacketType.auth);
  const w = new WireWriter(0xf0, tail.size);
  writeReasonTail(w, p.reasonCode, p.properties, tail);
  return w.buf;
}
