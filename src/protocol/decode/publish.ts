// PUBLISH: flags (dup, QoS, retain), topic, packet id when QoS > 0, v5 properties, and the payload
// as a slice of the received bytes: the hot path never copies it.

import { PacketType } from '../packet-type.js';
import type { ProtocolVersion, PublishPacket, QoS } from '../packets.js';
import { readProperties } from '../properties.js';
import { malformed, protocolViolation } from '../protocol-error.js';
import type { WireReader } from '../wire-reader.js';
import { readPacketId } from './field-checks.js';

export function decodePublish(r: WireReader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) throw malformed('ERR_INVALID_QOS', 'PUBLISH QoS is 3 [MQTT-3.3.1-4]');
  const dup = (flags & 0x08) !== 0;
  if (dup && qos === 0)
    throw protocolViolation('ERR_DUP_ON_QOS0', 'PUBLISH DUP is set on QoS 0 [MQTT-3.3.1-2]');
  const retain = (flags & 0x01) !== 0;
  const topic = r.utf8('topic name');
  const packetId = qos > 0 ? readPacketId(r, 'PUBLISH') : undefined;
  const properties = version === 5 ? readProperties(r, PacketType.publish) : undefined;
  const payload = r.rest();
  // One object shape for every PUBLISH keeps the router's property accesses monomorphic.
  return { type: 'publish', topic, payload, qos: qos as QoS, retain, dup, packetId, properties };
}
