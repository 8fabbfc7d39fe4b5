// Properties over generated input: every valid packet survives encode -> decode in any chunking,
// and random bytes make the decoder throw nothing but ProtocolError.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { versionedPacket } from '../../test/support/packet-arbitraries.js';
import { plain } from '../../test/support/plain.js';
import { encodePacket } from './encode/encode-packet.js';
import { FrameDecoder } from './frame-decoder.js';
import { ProtocolError } from './protocol-error.js';

describe('round trip', () => {
  it('decode(encode(packet)) equals the packet, for any chunking of the bytes', () => {
    fc.assert(
      fc.property(
        versionedPacket,
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }),
        ({ version, packet }, sizes) => {
          const bytes = encodePacket(packet, version);
          const decoder = new FrameDecoder({
            protocolVersion: packet.type === 'connect' ? undefined : version,
          });
          const out = [];
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const size = sizes[i % sizes.length]!;
            out.push(...decoder.push(bytes.subarray(at, at + size)));
            at += size;
          }
          assert.deepEqual(plain(out), [plain(packet)]);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('fuzz', () => {
  const onlyProtocolErrors = (decoder: FrameDecoder, chunks: Uint8Array[]) => {
    try {
      for (const chunk of chunks) decoder.push(Buffer.from(chunk));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      assert.ok(error.reasonCode >= 0x80, `reason code 0x${error.reasonCode.toString(16)}`);
    }
  };

  it('random bytes: the decoder throws nothing but ProtocolError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(undefined, 3 as const, 4 as const, 5 as const),
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
        (version, chunks) =>
          onlyProtocolErrors(new FrameDecoder({ protocolVersion: version, maxPacketSize: 4096 }), chunks),
      ),
      { numRuns: 20_000 },
    );
  });

  it('valid packets with bytes flipped: the decoder throws nothing but ProtocolError', () => {
    fc.assert(
      fc.property(
        versionedPacket,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        ({ version, packet }, flips) => {
          const bytes = Buffer.from(encodePacket(packet, version));
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const decoder = new FrameDecoder({
            protocolVersion: packet.type === 'connect' ? undefined : version,
          });
          onlyProtocolErrors(decoder, [bytes]);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
