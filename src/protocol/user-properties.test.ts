// User properties kept as received until read: the same list a decode gives, in order, the same
// refusals of bad ones, and the bytes passed on unaltered through encode and withProperties.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePacket } from './encode/encode-packet.js';
import { FrameDecoder } from './frame-decoder.js';
import type { PublishPacket } from './packets.js';
import { userPropertyCount, withProperties } from './properties.js';

const field = (s: string | Buffer) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const user = (name: string | Buffer, value: string | Buffer) =>
  Buffer.concat([Buffer.from([0x26]), field(name), field(value)]);
const contentType = (text: string) => Buffer.concat([Buffer.from([0x03]), field(text)]);

/** An MQTT 5 PUBLISH QoS 0 to `a` with this property block (small: one-byte lengths). */
function publish(...props: Buffer[]): Buffer {
  const block = Buffer.concat(props);
  const body = Buffer.concat([field('a'), Buffer.from([block.length]), block, Buffer.from('p')]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

const decode = (bytes: Buffer) => {
  const [packet] = new FrameDecoder({ protocolVersion: 5 }).push(bytes);
  return packet as PublishPacket;
};

describe('user properties as received', () => {
  it('decode on first read to the list in wire order, other properties between them included', () => {
    const p = decode(publish(user('a', '1'), contentType('text'), user('b', '2'), user('é', 'ü')));
    assert.equal(userPropertyCount(p.properties), 3);
    assert.equal(p.properties?.contentType, 'text');
    assert.deepEqual(p.properties?.userProperties, [
      ['a', '1'],
      ['b', '2'],
      ['é', 'ü'],
    ]);
    assert.equal(p.properties?.userProperties, p.properties?.userProperties, 'decoded once');
    const again = decode(encodePacket(p, 5));
    assert.deepEqual(again.properties, p.properties);
  });

  it('are written back as the bytes they came in when nobody read them', () => {
    const wire = publish(user('k1', 'v1'), user('k2', 'v2'));
    assert.deepEqual(encodePacket(decode(wire), 5), wire);
  });

  it('survive withProperties undecoded, and are replaced when it is given new ones', () => {
    const p = decode(publish(user('k', 'v'), contentType('c')));
    const aliased = decode(
      encodePacket({ ...p, properties: withProperties(p.properties, { topicAlias: 7 }) }, 5),
    );
    assert.deepEqual(aliased.properties, { topicAlias: 7, contentType: 'c', userProperties: [['k', 'v']] });
    const dropped = withProperties(p.properties, { contentType: undefined });
    assert.deepEqual(decode(encodePacket({ ...p, properties: dropped }, 5)).properties, {
      userProperties: [['k', 'v']],
    });
    const replaced = withProperties(p.properties, { userProperties: [['x', 'y']] });
    assert.deepEqual(decode(encodePacket({ ...p, properties: replaced }, 5)).properties?.userProperties, [
      ['x', 'y'],
    ]);
    assert.equal(userPropertyCount(replaced), 1);
    assert.equal(userPropertyCount({ userProperties: [['a', 'b']] }), 1);
    assert.equal(userPropertyCount(undefined), 0);
  });

  it('are refused as a decode refuses them: U+0000, malformed UTF-8, a surrogate, truncated', () => {
    const refused = (bytes: Buffer, code: string) =>
      assert.throws(() => decode(bytes), { code, reasonCode: 0x81 }, code);
    refused(publish(user('a\u0000', 'v')), 'ERR_UTF8_NULL');
    refused(publish(user('k', Buffer.from([0x61, 0xff]))), 'ERR_INVALID_UTF8');
    refused(publish(user('k', Buffer.from([0xed, 0xa0, 0x80]))), 'ERR_INVALID_UTF8');
    // The value claims 9 bytes; the property block ends after 1.
    const truncated = Buffer.concat([Buffer.from([0x26]), field('k'), Buffer.from([0, 9, 0x61])]);
    refused(publish(truncated), 'ERR_TRUNCATED');
  });
});
