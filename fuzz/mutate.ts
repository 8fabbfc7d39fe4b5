// What both fuzzers feed: a corpus of valid packets (every type, version and v5 property, from the
// property tests' generators), and structured mutations of them from a seeded generator, so that
// input n of seed s is the same on every run (`--seed s --from n --count 1` replays it).

import fc from 'fast-check';
import { encodePacket, type ProtocolVersion } from '../src/protocol/index.js';
import { allFixtures, bytesOf } from '../test/fixtures/packet-fixtures.js';
import { versionedPacket } from '../test/support/packet-arbitraries.js';

export interface Sample {
  readonly version: ProtocolVersion;
  readonly bytes: Buffer;
}

/** mulberry32: small, fast, and enough to spread mutations; not for secrets. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator of input `index` of `seed`: independent of every other input. */
export const inputRandom = (seed: number, index: number) =>
  random((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);

/** The fixtures and `generated` packets drawn from the property tests' arbitraries. */
export function corpus(seed: number, generated = 4000): Sample[] {
  const samples: Sample[] = allFixtures.map((f) => ({ version: f.version, bytes: bytesOf(f) }));
  for (const { version, packet } of fc.sample(versionedPacket, { seed, numRuns: generated })) {
    try {
      samples.push({ version, bytes: encodePacket(packet, version) });
    } catch {
      // A generated packet the encoder refuses (too long for a field): not a corpus entry.
    }
  }
  return samples;
}

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff];

/** A remaining length as 1 to 5 bytes, minimal or not, in range or not. */
function varint(r: () => number): number[] {
  const value = [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 268_435_455, Math.floor(r() * 2 ** 28)][
    Math.floor(r() * 9)
  ]!;
  const bytes: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0);
  if (r() < 0.2) {
    bytes[bytes.length - 1]! |= 0x80;
    bytes.push(r() < 0.5 ? 0 : 0x80); // not minimal, or a fifth byte
  }
  return bytes;
}

type Mutation = (input: Buffer, r: () => number, other: () => Buffer) => Buffer;
const at = (input: Buffer, r: () => number) => Math.floor(r() * Math.max(1, input.length));

const MUTATIONS: readonly Mutation[] = [
  // flip a bit
  (b, r) => {
    const out = Buffer.from(b);
    if (out.length > 0) out[at(out, r)]! ^= 1 << Math.floor(r() * 8);
    return out;
  },
  // an interesting byte somewhere
  (b, r) => {
    const out = Buffer.from(b);
    if (out.length > 0) out[at(out, r)] = INTERESTING[Math.floor(r() * INTERESTING.length)]!;
    return out;
  },
  // a length field (u16) made huge, zero or off by one
  (b, r) => {
    const out = Buffer.from(b);
    if (out.length < 2) return out;
    const i = Math.floor(r() * (out.length - 1));
    const v = out.readUInt16BE(i);
    out.writeUInt16BE([0xffff, 0, (v + 1) & 0xffff, (v - 1) & 0xffff][Math.floor(r() * 4)]!, i);
    return out;
  },
  // the remaining length rewritten
  (b, r) => {
    let end = 1;
    while (end < b.length && end < 5 && (b[end]! & 0x80) !== 0) end++;
    return Buffer.concat([b.subarray(0, 1), Buffer.from(varint(r)), b.subarray(end + 1)]);
  },
  // bytes inserted
  (b, r) => {
    const i = at(b, r);
    const extra = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256)));
    return Buffer.concat([b.subarray(0, i), extra, b.subarray(i)]);
  },
  // a range deleted
  (b, r) => {
    const i = at(b, r);
    return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + Math.floor(r() * 8))]);
  },
  // a range repeated
  (b, r) => {
    const i = at(b, r);
    const j = Math.min(b.length, i + 1 + Math.floor(r() * 16));
    return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
  },
  // cut short
  (b, r) => b.subarray(0, at(b, r)),
  // the start of one packet, the rest of another
  (b, r, other) => {
    const o = other();
    return Buffer.concat([b.subarray(0, at(b, r)), o.subarray(at(o, r))]);
  },
  // another packet after it: a stream
  (b, _r, other) => Buffer.concat([b, other()]),
  // the packet type or flags changed
  (b, r) => {
    const out = Buffer.from(b);
    if (out.length > 0) out[0] = r() < 0.5 ? Math.floor(r() * 256) : (out[0]! & 0xf0) | Math.floor(r() * 16);
    return out;
  },
];

/** Input `index` of `seed`: a corpus sample with 1 to 4 mutations, sometimes pure noise. */
export function mutated(samples: readonly Sample[], seed: number, index: number): Sample & { r: () => number } {
  const r = inputRandom(seed, index);
  const pick = () => samples[Math.floor(r() * samples.length)]!;
  const base = pick();
  if (r() < 0.02) {
    const noise = Buffer.from(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256)));
    return { version: base.version, bytes: noise, r };
  }
  let bytes = base.bytes;
  for (let n = 1 + Math.floor(r() * 4); n > 0; n--)
    bytes = MUTATIONS[Math.floor(r() * MUTATIONS.length)]!(bytes, r, () => pick().bytes);
  return { version: base.version, bytes, r };
}
