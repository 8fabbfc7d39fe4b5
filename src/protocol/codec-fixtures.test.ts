// The fixture table, both ways, and decoded from every split of its bytes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allFixtures, bytesOf, type PacketFixture } from '../../test/fixtures/packet-fixtures.js';
import { plain } from '../../test/support/plain.js';
import { encodePacket } from './encode/encode-packet.js';
import { encodePublishHeader, publishPacketSize } from './encode/publish.js';
import { FrameDecoder } from './frame-decoder.js';
import { PacketType } from './packet-type.js';
import { propertyTable } from './properties.js';

const decoderFor = (f: PacketFixture) =>
  new FrameDecoder({ protocolVersion: f.packet.type === 'connect' ? undefined : f.version });

describe('packet fixtures', () => {
  for (const fixture of allFixtures) {
    describe(fixture.name, () => {
      const bytes = bytesOf(fixture);

      if (!fixture.decodeOnly) {
        it('encodes to the fixture bytes', () => {
          assert.equal(encodePacket(fixture.packet, fixture.version).toString('hex'), bytes.toString('hex'));
        });
      }

      it('decodes from one chunk', () => {
        assert.deepEqual(plain(decoderFor(fixture).push(bytes)), [plain(fixture.packet)]);
      });

      it('decodes from every split into two chunks, and byte by byte', () => {
        for (let at = 0; at <= bytes.length; at++) {
          const decoder = decoderFor(fixture);
          const packets = [...decoder.push(bytes.subarray(0, at)), ...decoder.push(bytes.subarray(at))];
          assert.deepEqual(plain(packets), [plain(fixture.packet)], `split at ${at}`);
          assert.equal(decoder.bufferedBytes, 0);
        }
        const decoder = decoderFor(fixture);
        const packets = [...bytes].flatMap((byte) => decoder.push(Buffer.from([byte])));
        assert.deepEqual(plain(packets), [plain(fixture.packet)]);
      });
    });
  }

  it('covers all 15 packet types on every protocol version that has them', () => {
    for (const version of [4, 5] as const) {
      const types = new Set(allFixtures.filter((f) => f.version === version).map((f) => f.packet.type));
      const expected = Object.keys(PacketType).filter((t) => version === 5 || t !== 'auth');
      for (const type of expected)
        assert.ok(types.has(type as never), `no ${type} fixture for version ${version}`);
    }
    assert.ok(allFixtures.some((f) => f.version === 3 && f.packet.type === 'connect'));
  });

  it('covers every v5 property', () => {
    const covered = new Set(allFixtures.flatMap((f) => Object.keys(propertiesOf(f.packet))));
    for (const def of propertyTable) assert.ok(covered.has(def.name), `no fixture for ${def.name}`);
  });
});

function propertiesOf(packet: PacketFixture['packet']): Record<string, unknown> {
  const own = 'properties' in packet ? (packet.properties ?? {}) : {};
  const will = packet.type === 'connect' ? (packet.will?.properties ?? {}) : {};
  return { ...own, ...will };
}

describe('stream decoding', () => {
  it('decodes a stream of every fixture concatenated, split at every byte', () => {
    const v5 = allFixtures.filter((f) => f.version === 5 && f.packet.type !== 'connect');
    const stream = Buffer.concat(v5.map(bytesOf));
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const decoder = new FrameDecoder({ protocolVersion: 5 });
      const packets = [];
      for (let at = 0; at < stream.length; at += size)
        packets.push(...decoder.push(stream.subarray(at, at + size)));
      assert.deepEqual(
        plain(packets),
        v5.map((f) => plain(f.packet)),
        `chunks of ${size}`,
      );
    }
  });

  it('switches to the version of the CONNECT it decoded', () => {
    const decoder = new FrameDecoder();
    const connect = bytesOf(allFixtures.find((f) => f.name === 'CONNECT 5.0 minimal')!);
    const publish = bytesOf(allFixtures.find((f) => f.name === 'PUBLISH 5.0 QoS 0 no properties')!);
    const packets = decoder.push(Buffer.concat([connect, publish]));
    assert.equal(decoder.protocolVersion, 5);
    assert.equal(packets[1]?.type, 'publish');
  });

  it('slices PUBLISH payloads from the chunk instead of copying them', () => {
    const bytes = Buffer.from('3007 0003 612f62 6869'.replace(/ /g, ''), 'hex');
    const [packet] = new FrameDecoder({ protocolVersion: 4 }).push(bytes);
    assert.equal(packet?.type, 'publish');
    if (packet?.type !== 'publish') return;
    assert.equal(packet.payload.buffer, bytes.buffer);
    assert.equal(packet.payload.byteOffset, bytes.byteOffset + 7);
  });

  it('publishPacketSize equals the encoded length of every PUBLISH fixture', () => {
    for (const f of allFixtures) {
      if (f.packet.type !== 'publish' || f.decodeOnly) continue;
      assert.equal(publishPacketSize(f.packet, f.version), bytesOf(f).length, f.name);
    }
  });

  it('encodes a PUBLISH header that, followed by the payload, equals the whole packet', () => {
    for (const f of allFixtures.filter((x) => x.packet.type === 'publish')) {
      if (f.packet.type !== 'publish') continue;
      const joined = Buffer.concat([encodePublishHeader(f.packet, f.version), f.packet.payload]);
      assert.equal(joined.toString('hex'), bytesOf(f).toString('hex'), f.name);
    }
  });
});
