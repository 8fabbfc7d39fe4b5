// CONNECT encoder: the mirror of decode/connect.ts.

import { PacketType } from '../packet-type.js';
import type { ConnectPacket } from '../packets.js';
import { propertiesSize, WILL_CONTEXT, writeProperties } from '../properties.js';
import { binarySize, outOfRange, utf8Size, varintSize, WireWriter } from '../wire-writer.js';

export function encodeConnect(p: ConnectPacket): Buffer {
  const v5 = p.protocolVersion === 5;
  const name = p.protocolName || (p.protocolVersion === 3 ? 'MQIsdp' : 'MQTT');
  if (p.password !== undefined && p.username === undefined && !v5) {
    throw outOfRange('a password without a user name needs MQTT 5 [MQTT-3.1.2-22]');
  }
  if (p.keepAlive < 0 || p.keepAlive > 0xffff)
    throw outOfRange(`keep alive ${p.keepAlive} is outside 0..65535`);
  let size = utf8Size(name, 'protocol name') + 4 + utf8Size(p.clientId, 'client identifier');
  const propsSize = v5 ? propertiesSize(p.properties, PacketType.connect) : 0;
  if (v5) size += varintSize(propsSize) + propsSize;
  const will = p.will;
  const willPropsSize = v5 && will ? propertiesSize(will.properties, WILL_CONTEXT) : 0;
  if (will) {
    if (v5) size += varintSize(willPropsSize) + willPropsSize;
    size += utf8Size(will.topic, 'will topic') + binarySize(will.payload, 'will payload');
  }
  if (p.username !== undefined) size += utf8Size(p.username, 'user name');
  if (p.password !== undefined) size += binarySize(p.password, 'password');

  let flags = p.clean ? 0x02 : 0;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;

  const w = new WireWriter(0x10, size);
  w.utf8(name);
  w.u8(p.bridge && !v5 ? p.protocolVersion | 0x80 : p.protocolVersion);
  w.u8(flags);
  w.u16(p.keepAlive);
  if (v5) writeProperties(w, p.properties, propsSize);
  w.utf8(p.clientId);
  if (will) {
    if (v5) writeProperties(w, will.properties, willPropsSize);
    w.utf8(will.topic);
    w.binary(will.payload);
  }
  if (p.username !== undefined) w.utf8(p.username);
  if (p.password !== undefined) w.binary(p.password);
  return w.buf;
}
