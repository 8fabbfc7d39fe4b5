// Malformed and illegal inputs, each with the stable code and reason code it must fail with.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePacket } from './encode/encode-packet.js';
import { FrameDecoder } from './frame-decoder.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { ProtocolError, type ProtocolErrorCode } from './protocol-error.js';

interface ErrorCase {
  readonly name: string;
  readonly version: ProtocolVersion | undefined;
  readonly hex: string;
  readonly code: ProtocolErrorCode;
  readonly reasonCode: number;
  readonly maxPacketSize?: number;
}

const MQTT5_CONNECT_HEAD = '00044d51545405';
const cases: readonly ErrorCase[] = [
  {
    name: 'reserved packet type 0',
    version: 4,
    hex: '0000',
    code: 'ERR_RESERVED_PACKET_TYPE',
    reasonCode: 0x81,
  },
  { name: 'PINGREQ with flags', version: 4, hex: 'c100', code: 'ERR_RESERVED_FLAGS', reasonCode: 0x81 },
  {
    name: 'PUBREL without its 0b0010 flags',
    version: 4,
    hex: '60020001',
    code: 'ERR_RESERVED_FLAGS',
    reasonCode: 0x81,
  },
  {
    name: 'SUBSCRIBE without its 0b0010 flags',
    version: 4,
    hex: '8006000100016100',
    code: 'ERR_RESERVED_FLAGS',
    reasonCode: 0x81,
  },
  { name: 'PUBLISH QoS 3', version: 4, hex: '3605000161 0001', code: 'ERR_INVALID_QOS', reasonCode: 0x81 },
  { name: 'PUBLISH DUP on QoS 0', version: 4, hex: '3803000161', code: 'ERR_DUP_ON_QOS0', reasonCode: 0x82 },
  {
    name: 'PUBLISH packet id 0',
    version: 4,
    hex: '3205000161 0000',
    code: 'ERR_PACKET_ID_ZERO',
    reasonCode: 0x82,
  },
  { name: 'PUBACK packet id 0', version: 4, hex: '40020000', code: 'ERR_PACKET_ID_ZERO', reasonCode: 0x82 },
  {
    name: 'remaining length of 5 bytes',
    version: 4,
    hex: 'c08080808001',
    code: 'ERR_VARINT_TOO_LONG',
    reasonCode: 0x81,
  },
  {
    name: 'remaining length not minimal',
    version: 4,
    hex: 'c08000',
    code: 'ERR_VARINT_NOT_MINIMAL',
    reasonCode: 0x81,
  },
  {
    name: 'topic length past the packet',
    version: 4,
    hex: '3003000561',
    code: 'ERR_TRUNCATED',
    reasonCode: 0x81,
  },
  { name: 'PINGREQ with a body', version: 4, hex: 'c00100', code: 'ERR_TRAILING_BYTES', reasonCode: 0x81 },
  {
    name: 'UNSUBACK 3.1.1 with trailing bytes',
    version: 4,
    hex: 'b003000100',
    code: 'ERR_TRAILING_BYTES',
    reasonCode: 0x81,
  },
  {
    name: 'topic containing U+0000',
    version: 4,
    hex: '3005000361 0062',
    code: 'ERR_UTF8_NULL',
    reasonCode: 0x81,
  },
  {
    name: 'topic with invalid UTF-8',
    version: 4,
    hex: '30040002c328',
    code: 'ERR_INVALID_UTF8',
    reasonCode: 0x81,
  },
  {
    name: 'topic with an encoded surrogate',
    version: 4,
    hex: '30050003eda080',
    code: 'ERR_INVALID_UTF8',
    reasonCode: 0x81,
  },
  {
    name: 'topic with an overlong encoding',
    version: 4,
    hex: '30040002c0af',
    code: 'ERR_INVALID_UTF8',
    reasonCode: 0x81,
  },
  {
    name: 'CONNECT protocol name MQTX',
    version: undefined,
    hex: '100c 00044d515458 04 02 003c 0000',
    code: 'ERR_PROTOCOL_NAME',
    reasonCode: 0x84,
  },
  {
    name: 'CONNECT protocol level 6',
    version: undefined,
    hex: '100c 00044d515454 06 02 003c 0000',
    code: 'ERR_UNSUPPORTED_PROTOCOL_VERSION',
    reasonCode: 0x84,
  },
  {
    name: 'CONNECT MQIsdp at level 4',
    version: undefined,
    hex: '100e 00064d5149736470 04 02 003c 0000',
    code: 'ERR_UNSUPPORTED_PROTOCOL_VERSION',
    reasonCode: 0x84,
  },
  {
    name: 'CONNECT reserved flag',
    version: undefined,
    hex: '100c 00044d515454 04 03 003c 0000',
    code: 'ERR_CONNECT_FLAGS',
    reasonCode: 0x81,
  },
  {
    name: 'CONNECT will QoS without will flag',
    version: undefined,
    hex: '100c 00044d515454 04 0a 003c 0000',
    code: 'ERR_WILL_FLAGS',
    reasonCode: 0x81,
  },
  {
    name: 'CONNECT will QoS 3',
    version: undefined,
    hex: '100c 00044d515454 04 1e 003c 0000',
    code: 'ERR_WILL_FLAGS',
    reasonCode: 0x81,
  },
  {
    name: 'CONNECT 3.1.1 password without user name',
    version: undefined,
    hex: '1010 00044d515454 04 42 003c 0000 00027077',
    code: 'ERR_PASSWORD_WITHOUT_USERNAME',
    reasonCode: 0x81,
  },
  {
    name: 'CONNECT with bytes after the payload',
    version: undefined,
    hex: '100d 00044d515454 04 02 003c 0000 ff',
    code: 'ERR_TRAILING_BYTES',
    reasonCode: 0x81,
  },
  {
    name: 'CONNECT 5.0 receive maximum 0',
    version: undefined,
    hex: `1010 ${MQTT5_CONNECT_HEAD} 02 003c 03 210000 0000`,
    code: 'ERR_PROPERTY_VALUE',
    reasonCode: 0x82,
  },
  {
    name: 'unknown property 0x7f',
    version: 5,
    hex: '3006 000161 02 7f00',
    code: 'ERR_UNKNOWN_PROPERTY',
    reasonCode: 0x81,
  },
  {
    name: 'property not allowed in PUBLISH',
    version: 5,
    hex: '3009 000161 05 1100000001',
    code: 'ERR_PROPERTY_NOT_ALLOWED',
    reasonCode: 0x82,
  },
  {
    name: 'duplicate property',
    version: 5,
    hex: '3008 000161 04 0101 0101',
    code: 'ERR_DUPLICATE_PROPERTY',
    reasonCode: 0x82,
  },
  {
    name: 'payload format indicator 2',
    version: 5,
    hex: '3006 000161 02 0102',
    code: 'ERR_PROPERTY_VALUE',
    reasonCode: 0x82,
  },
  {
    name: 'topic alias 0',
    version: 5,
    hex: '3007 000161 03 230000',
    code: 'ERR_PROPERTY_VALUE',
    reasonCode: 0x94,
  },
  {
    name: 'subscription identifier 0',
    version: 5,
    hex: '3006 000161 02 0b00',
    code: 'ERR_PROPERTY_VALUE',
    reasonCode: 0x82,
  },
  {
    name: 'property length past the packet',
    version: 5,
    hex: '3005 000161 09 01',
    code: 'ERR_TRUNCATED',
    reasonCode: 0x81,
  },
  {
    name: 'property value past its block',
    version: 5,
    hex: '3008 000161 02 0200 0000',
    code: 'ERR_TRUNCATED',
    reasonCode: 0x81,
  },
  {
    name: 'PUBACK 5.0 undefined reason 0x05',
    version: 5,
    hex: '4003 0001 05',
    code: 'ERR_INVALID_REASON_CODE',
    reasonCode: 0x81,
  },
  {
    name: 'PUBREL 5.0 reason only PUBACK has',
    version: 5,
    hex: '6203 0001 10',
    code: 'ERR_INVALID_REASON_CODE',
    reasonCode: 0x81,
  },
  {
    name: 'CONNACK 3.1.1 return code 6',
    version: 4,
    hex: '2002 00 06',
    code: 'ERR_INVALID_REASON_CODE',
    reasonCode: 0x81,
  },
  {
    name: 'CONNACK reserved acknowledge flags',
    version: 4,
    hex: '2002 02 00',
    code: 'ERR_RESERVED_FLAGS',
    reasonCode: 0x81,
  },
  {
    name: 'SUBACK 3.1.1 return code 3',
    version: 4,
    hex: '9003 0001 03',
    code: 'ERR_INVALID_REASON_CODE',
    reasonCode: 0x81,
  },
  {
    name: 'DISCONNECT 5.0 reason 0x05',
    version: 5,
    hex: 'e001 05',
    code: 'ERR_INVALID_REASON_CODE',
    reasonCode: 0x81,
  },
  {
    name: 'SUBSCRIBE with no filter',
    version: 4,
    hex: '8202 0001',
    code: 'ERR_EMPTY_PAYLOAD',
    reasonCode: 0x82,
  },
  {
    name: 'UNSUBSCRIBE with no filter',
    version: 4,
    hex: 'a202 0001',
    code: 'ERR_EMPTY_PAYLOAD',
    reasonCode: 0x82,
  },
  { name: 'SUBACK with no code', version: 4, hex: '9002 0001', code: 'ERR_EMPTY_PAYLOAD', reasonCode: 0x82 },
  {
    name: 'SUBSCRIBE 3.1.1 option bits beyond QoS',
    version: 4,
    hex: '8206 0001 000161 04',
    code: 'ERR_SUBSCRIPTION_OPTIONS',
    reasonCode: 0x81,
  },
  {
    name: 'SUBSCRIBE QoS 3',
    version: 4,
    hex: '8206 0001 000161 03',
    code: 'ERR_INVALID_QOS',
    reasonCode: 0x81,
  },
  {
    name: 'SUBSCRIBE 5.0 retain handling 3',
    version: 5,
    hex: '8207 0001 00 000161 30',
    code: 'ERR_SUBSCRIPTION_OPTIONS',
    reasonCode: 0x82,
  },
  {
    name: 'SUBSCRIBE 5.0 reserved option bits',
    version: 5,
    hex: '8207 0001 00 000161 40',
    code: 'ERR_SUBSCRIPTION_OPTIONS',
    reasonCode: 0x81,
  },
  {
    name: 'SUBSCRIBE 5.0 two subscription identifiers',
    version: 5,
    hex: '820b 0001 04 0b01 0b02 000161 00',
    code: 'ERR_DUPLICATE_PROPERTY',
    reasonCode: 0x82,
  },
  { name: 'AUTH on 3.1.1', version: 4, hex: 'f000', code: 'ERR_AUTH_BEFORE_V5', reasonCode: 0x81 },
  {
    name: 'packet larger than the maximum, refused at its header',
    version: 4,
    hex: '30ff7f',
    code: 'ERR_PACKET_TOO_LARGE',
    reasonCode: 0x95,
    maxPacketSize: 1024,
  },
];

const bytes = (hex: string) => Buffer.from(hex.replace(/ /g, ''), 'hex');

function decodeError(c: ErrorCase, chunks: Buffer[]): unknown {
  const decoder = new FrameDecoder({ protocolVersion: c.version, maxPacketSize: c.maxPacketSize });
  try {
    for (const chunk of chunks) decoder.push(chunk);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('malformed input', () => {
  it('a header announcing 268,435,455 bytes with little behind it allocates for what came, not for what it claims', () => {
    for (const first of [0x10, 0x30, 0x82]) {
      const decoder = new FrameDecoder({ protocolVersion: first === 0x10 ? undefined : 4 });
      assert.deepEqual(decoder.push(Buffer.from([first, 0xff, 0xff, 0xff, 0x7f, 0, 4])), []);
      assert.equal(decoder.bufferedBytes, 2);
      assert.ok(decoder.reservedBytes <= 64 * 1024, `${decoder.reservedBytes} bytes reserved`);
      // Then 1 MB arrives: the buffer follows, at most doubling.
      for (let n = 0; n < 16; n++) decoder.push(Buffer.alloc(64 * 1024));
      assert.equal(decoder.bufferedBytes, 2 + 1024 * 1024);
      assert.ok(
        decoder.reservedBytes <= 2 * decoder.bufferedBytes,
        `${decoder.reservedBytes} bytes reserved`,
      );
    }
  });

  for (const c of cases) {
    it(`${c.name} -> ${c.code}`, () => {
      const input = bytes(c.hex);
      const whole = decodeError(c, [input]);
      assert.ok(whole instanceof ProtocolError, `expected a ProtocolError, got ${String(whole)}`);
      assert.equal(whole.code, c.code, whole.message);
      assert.equal(whole.reasonCode, c.reasonCode);
      const split = decodeError(
        c,
        [...input].map((byte) => Buffer.from([byte])),
      );
      assert.ok(split instanceof ProtocolError);
      assert.equal(split.code, c.code, 'same error when fed byte by byte');
    });
  }

  it('refuses an oversize packet from its fixed header alone, before any body arrives', () => {
    const decoder = new FrameDecoder({ protocolVersion: 4, maxPacketSize: 100 });
    assert.throws(() => decoder.push(bytes('30 e8 07')), { code: 'ERR_PACKET_TOO_LARGE', reasonCode: 0x95 });
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('accepts a packet of exactly the maximum size', () => {
    const decoder = new FrameDecoder({ protocolVersion: 4, maxPacketSize: 9 });
    assert.equal(decoder.push(bytes('3007 0003 612f62 6869')).length, 1);
  });

  it('with requireConnectFirst, refuses a first packet other than CONNECT at its first byte', () => {
    const decoder = new FrameDecoder({ requireConnectFirst: true });
    assert.throws(() => decoder.push(bytes('47')), {
      code: 'ERR_FIRST_PACKET_NOT_CONNECT',
      reasonCode: 0x82,
    });
    const ok = new FrameDecoder({ requireConnectFirst: true });
    assert.equal(ok.push(bytes('100c 00044d515454 04 02 003c 0000 c000')).length, 2);
  });

  it('keeps failing with the same error once it has failed', () => {
    const decoder = new FrameDecoder({ protocolVersion: 4 });
    assert.throws(() => decoder.push(bytes('0000')), { code: 'ERR_RESERVED_PACKET_TYPE' });
    assert.throws(() => decoder.push(bytes('c000')), { code: 'ERR_RESERVED_PACKET_TYPE' });
  });

  it('names the bad field in its message', () => {
    const error = decodeError(cases.find((c) => c.code === 'ERR_PROPERTY_NOT_ALLOWED')!, [
      bytes('3009 000161 05 1100000001'),
    ]);
    assert.match(String((error as Error).message), /sessionExpiryInterval is not allowed in PUBLISH/);
  });
});

describe('encoder refusals', () => {
  const refuse = (packet: Packet, version: ProtocolVersion, message: RegExp) =>
    assert.throws(
      () => encodePacket(packet, version),
      (e: unknown) => e instanceof ProtocolError && message.test(e.message),
    );

  it('refuses values the wire cannot carry, with a ProtocolError naming them', () => {
    const publish = {
      type: 'publish',
      topic: 't',
      payload: Buffer.alloc(0),
      retain: false,
      dup: false,
    } as const;
    refuse({ ...publish, qos: 1 }, 4, /packet id/);
    refuse({ ...publish, qos: 0, topic: 'x'.repeat(70_000) }, 4, /topic name is 70000 bytes/);
    refuse({ ...publish, qos: 0, properties: { topicAlias: 0 } }, 5, /topicAlias 0/);
    refuse({ ...publish, qos: 0, properties: { sessionExpiryInterval: 1 } }, 5, /not allowed in PUBLISH/);
    refuse({ type: 'auth' }, 4, /AUTH does not exist before MQTT 5/);
    refuse({ type: 'subscribe', packetId: 1, subscriptions: [] }, 4, /at least one topic filter/);
    refuse(
      {
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepAlive: 0,
        clientId: '',
        password: Buffer.alloc(1),
      },
      4,
      /password without a user name/,
    );
  });
});
