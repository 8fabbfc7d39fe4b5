// CONNECT (MQTT 3.1.2 / 5.0 3.1): protocol name and level, flags, keep alive, properties, payload.

import { PacketType } from '../packet-type.js';
import type { ConnectPacket, ProtocolVersion, QoS, Will } from '../packets.js';
import { readProperties, WILL_CONTEXT } from '../properties.js';
import { malformed, ProtocolError } from '../protocol-error.js';
import { ReasonCode } from '../reason-codes.js';
import type { WireReader } from '../wire-reader.js';
import { expectFlags } from './field-checks.js';

export function decodeConnect(r: WireReader, flags: number): ConnectPacket {
  expectFlags(flags, 0, 'CONNECT');
  const protocolName = r.utf8('protocol name');
  const level = r.u8('protocol level');
  // The high bit on a 3.1 / 3.1.1 level marks a bridge (mosquitto's try_private); MQTT 5 has
  // No Local and Retain As Published for it instead.
  const bridge = (level & 0x80) !== 0 && (level & 0x7f) !== 5;
  const protocolVersion = checkProtocol(protocolName, bridge ? level & 0x7f : level);
  const connectFlags = r.u8('connect flags');
  if (connectFlags & 0x01)
    throw malformed('ERR_CONNECT_FLAGS', 'CONNECT reserved flag is set [MQTT-3.1.2-3]');
  const clean = (connectFlags & 0x02) !== 0;
  const hasWill = (connectFlags & 0x04) !== 0;
  const willQos = (connectFlags >> 3) & 0x03;
  const willRetain = (connectFlags & 0x20) !== 0;
  const hasPassword = (connectFlags & 0x40) !== 0;
  const hasUsername = (connectFlags & 0x80) !== 0;
  if (willQos === 3) throw malformed('ERR_WILL_FLAGS', 'will QoS is 3 [MQTT-3.1.2-12]');
  if (!hasWill && (willQos !== 0 || willRetain)) {
    throw malformed('ERR_WILL_FLAGS', 'will QoS or retain set without the will flag [MQTT-3.1.2-11]');
  }
  if (hasPassword && !hasUsername && protocolVersion !== 5) {
    throw malformed(
      'ERR_PASSWORD_WITHOUT_USERNAME',
      'password flag set without user name flag [MQTT-3.1.2-22]',
    );
  }
  const keepAlive = r.u16('keep alive');
  const properties = protocolVersion === 5 ? readProperties(r, PacketType.connect) : undefined;
  const clientId = r.utf8('client identifier');
  let will: Will | undefined;
  if (hasWill) {
    const willProperties = protocolVersion === 5 ? readProperties(r, WILL_CONTEXT) : undefined;
    const topic = r.utf8('will topic');
    const payload = r.binary('will payload');
    will = { topic, payload, qos: willQos as QoS, retain: willRetain };
    if (willProperties) will = { ...will, properties: willProperties };
  }
  const username = hasUsername ? r.utf8('user name') : undefined;
  const password = hasPassword ? r.binary('password') : undefined;
  r.expectEnd('CONNECT');

  const packet: { -readonly [K in keyof ConnectPacket]: ConnectPacket[K] } = {
    type: 'connect',
    protocolName,
    protocolVersion,
    clean,
    keepAlive,
    clientId,
  };
  if (bridge) packet.bridge = true;
  if (will) packet.will = will;
  if (username !== undefined) packet.username = username;
  if (password !== undefined) packet.password = password;
  if (properties) packet.properties = properties;
  return packet;
}

function checkProtocol(name: string, level: number): ProtocolVersion {
  if (name === 'MQTT' && (level === 4 || level === 5)) return level;
  if (name === 'MQIsdp' && level === 3) return 3;
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    throw new ProtocolError(
      'ERR_PROTOCOL_NAME',
      `protocol name "${name}" is neither MQTT nor MQIsdp [MQTT-3.1.2-1]`,
      ReasonCode.UnsupportedProtocolVersion,
    );
  }
  throw new ProtocolError(
    'ERR_UNSUPPORTED_PROTOCOL_VERSION',
    `protocol level ${level} is not supported with name ${name} [MQTT-3.1.2-2]`,
    ReasonCode.UnsupportedProtocolVersion,
  );
}
