// The codec fuzzer (issue 17): mutated packet streams into the frame decoder, split at random
// points, under each protocol version. What must hold for every input:
// - it decodes, or throws a ProtocolError: never another exception;
// - what decodes encodes again, and that decodes to the same packets;
// - the decoder never reserves more than twice what it was given (and 64 KB);
// - no input takes long (the slowest is reported; over 100 ms is a failure).
// Usage: node --import tsx fuzz/codec-fuzz.ts [--seed 1] [--count 10000000] [--from 0]
// A failure prints the seed and index that replay it, and the input's bytes; the exit code is 1.

import { isDeepStrictEqual } from 'node:util';
import { arg } from '../bench/bench-process.js';
import { encodePacket, FrameDecoder, type Packet, ProtocolError } from '../src/protocol/index.js';
import { plain } from '../test/support/plain.js';
import { corpus, mutated } from './mutate.js';

const SEED = Number(arg('seed', '1'));
const COUNT = Number(arg('count', '1000000'));
const FROM = Number(arg('from', '0'));
const SLOW_MS = 100;

export interface FuzzReport {
  readonly inputs: number;
  readonly decoded: number;
  readonly refused: Record<string, number>;
  readonly failures: string[];
  readonly slowestMs: number;
  readonly peakHeapMb: number;
  readonly seconds: number;
}

/** Feeds inputs [from, from + count) of `seed`; stops at the first 10 failures. */
export function fuzzCodec(seed: number, count: number, from = 0, progress?: (n: number) => void): FuzzReport {
  const samples = corpus(seed);
  const refused: Record<string, number> = {};
  const failures: string[] = [];
  let decoded = 0;
  let slowestMs = 0;
  let peakHeap = 0;
  const started = performance.now();
  for (let index = from; index < from + count && failures.length < 10; index++) {
    const { version, bytes, r } = mutated(samples, seed, index);
    const t0 = performance.now();
    const fail = (what: string) =>
      failures.push(`seed ${seed} index ${index} (v${version}): ${what}; input ${bytes.toString('hex')}`);
    const connectFirst = r() < 0.3;
    const decoder = new FrameDecoder({
      protocolVersion: connectFirst ? undefined : version,
      requireConnectFirst: connectFirst,
      ...(r() < 0.2 && { maxPacketSize: 1 + Math.floor(r() * 256) }),
    });
    const packets: Packet[] = [];
    try {
      // One chunk, or split at up to three random points.
      let pos = 0;
      for (let cuts = Math.floor(r() * 4); cuts > 0 && pos < bytes.length; cuts--) {
        const next = pos + Math.floor(r() * (bytes.length - pos + 1));
        packets.push(...decoder.push(bytes.subarray(pos, next)));
        pos = next;
      }
      packets.push(...decoder.push(bytes.subarray(pos)));
      decoded++;
    } catch (error) {
      if (error instanceof ProtocolError) refused[error.code] = (refused[error.code] ?? 0) + 1;
      else fail(`threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    }
    if (decoder.reservedBytes > Math.max(64 * 1024, 2 * bytes.length))
      fail(`reserved ${decoder.reservedBytes} bytes for ${bytes.length} received`);
    // Each packet under the version in force when it came: a CONNECT in the stream changes it.
    let v = connectFirst ? 4 : version;
    for (const packet of packets) {
      if (packet.type === 'connect') v = packet.protocolVersion;
      try {
        const again = new FrameDecoder({ protocolVersion: packet.type === 'connect' ? undefined : v }).push(
          encodePacket(packet, v),
        );
        if (again.length !== 1 || !isDeepStrictEqual(plain(again[0]), plain(packet)))
          fail(`re-encoded ${packet.type} decodes differently`);
      } catch (error) {
        fail(`re-encoding a decoded ${packet.type} threw ${(error as Error).message}`);
      }
    }
    const ms = performance.now() - t0;
    if (ms > slowestMs) slowestMs = ms;
    if (ms > SLOW_MS) fail(`took ${ms.toFixed(0)} ms`);
    if ((index & 0xffff) === 0) {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      progress?.(index - from);
    }
  }
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  return {
    inputs: count,
    decoded,
    refused,
    failures,
    slowestMs,
    peakHeapMb: peakHeap / 2 ** 20,
    seconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tty = process.stderr.isTTY;
  const report = fuzzCodec(SEED, COUNT, FROM, (n) => {
    if (tty) process.stderr.write(`\r${n.toLocaleString('en')} / ${COUNT.toLocaleString('en')}`);
  });
  if (tty) process.stderr.write('\n');
  const refusedTotal = Object.values(report.refused).reduce((a, b) => a + b, 0);
  console.log(
    `codec fuzz: seed ${SEED}, inputs ${FROM.toLocaleString('en')}..${(FROM + COUNT - 1).toLocaleString('en')}: ` +
      `${report.decoded.toLocaleString('en')} decoded, ${refusedTotal.toLocaleString('en')} refused with a ProtocolError ` +
      `(${Object.keys(report.refused).length} codes), ${report.failures.length} failures; ` +
      `slowest input ${report.slowestMs.toFixed(2)} ms, peak heap ${report.peakHeapMb.toFixed(0)} MB, ` +
      `${report.seconds.toFixed(0)} s (${Math.round(report.inputs / report.seconds).toLocaleString('en')} inputs/s)`,
  );
  const top = Object.entries(report.refused).sort((a, b) => b[1] - a[1]);
  console.log(`refusals: ${top.map(([code, n]) => `${code} ${n}`).join(', ')}`);
  for (const f of report.failures) console.log(`FAILURE ${f}`);
  process.exitCode = report.failures.length > 0 ? 1 : 0;
}
