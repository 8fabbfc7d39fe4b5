// The load cases bench:broker and bench:cluster share: fan-in at the broker's pace and latency
// at a fixed rate, 10 publishers -> 1 subscriber, 64 B. Publishers connect to `pubPort`, the
// subscriber to `subPort` (the same port for one broker; two nodes of a cluster otherwise);
// `measure` counts over the benchmark's window whatever CPU the caller attributes.

import type { Packet } from '../src/protocol/index.js';
import { sleep, waitList } from './bench-process.js';
import { LoadClient, pubackPacket, publishPacket } from './broker-load.js';

export interface Window {
  delivered: number;
  /** QoS 1: PUBLISHes the broker acknowledged to the publishers. */
  accepted: number;
  cpuMs: number;
  seconds: number;
}

export interface LoadTarget {
  readonly pubPort: number;
  readonly subPort: number;
  measure(delivered: () => number, accepted?: () => number): Promise<Window>;
}

const PUBLISHERS = 10;

/**
 * As fast as the broker can carry them without losing any: publishers stop while more than
 * `window` messages are published and not yet delivered, so the rate measured is sustainable
 * (no queue overflows, no drops) for any broker.
 */
export async function fanIn(t: LoadTarget, qos: 0 | 1) {
  const window = qos === 0 ? 2000 : 500; // QoS 1: below max_queued_messages 1000, so nothing is dropped
  const sub = await LoadClient.open(t.subPort, `sub${qos}`);
  await sub.subscribe('fan/#', qos);
  let delivered = 0;
  let sent = 0;
  let lost = 0;
  let acked = 0;
  const { wait, wakeAll } = waitList();
  sub.onPacket = (p: Packet) => {
    if (p.type !== 'publish') return;
    delivered++;
    // A QoS 0 message may still arrive from the run before, read late from a closed socket.
    if (p.qos === 1) sub.socket.write(pubackPacket(p.packetId!));
  };
  sub.socket.on('data', wakeAll);
  let running = true;
  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => LoadClient.open(t.pubPort, `pub${qos}-${i}`)),
  );
  const payload = Buffer.alloc(64, 0x61);
  const loops = pubs.map(async (pub, i) => {
    const topic = `fan/${i}`;
    const one = publishPacket(topic, payload, 0);
    const qos0Batch = Buffer.concat(Array.from({ length: 100 }, () => one));
    let nextId = 1;
    pub.onPacket = (p) => {
      if (p.type === 'puback') acked++;
    };
    while (running) {
      const budget = Math.min(100, window - (sent - delivered));
      if (budget <= 0) {
        const woke = await Promise.race([wait(), sleep(200).then(() => false)]);
        if (!woke && sent - delivered >= window) {
          lost += sent - delivered; // nothing arrived for 200 ms: count the gap as lost, go on
          sent = delivered;
        }
        continue;
      }
      sent += budget;
      if (qos === 0) {
        await pub.write(qos0Batch.subarray(0, budget * one.length));
        continue;
      }
      const out: Buffer[] = [];
      for (let n = 0; n < budget; n++) {
        out.push(publishPacket(topic, payload, 1, nextId));
        nextId = nextId === 65_535 ? 1 : nextId + 1;
      }
      await pub.write(Buffer.concat(out));
    }
  });
  const w = await t.measure(
    () => delivered,
    () => acked,
  );
  running = false;
  wakeAll();
  for (const p of [...pubs, sub]) p.close();
  await Promise.allSettled(loops);
  await sleep(1000); // let the broker finish what it already read
  return { ...w, lost };
}

/** 10 publishers at a fixed total of `rate` msg/s; end-to-end latency at one subscriber, µs. */
export async function latency(t: LoadTarget, rate: number, qos: 0 | 1 = 0) {
  const sub = await LoadClient.open(t.subPort, `lsub${qos}`);
  await sub.subscribe('lat/#', qos);
  const samples: number[] = [];
  let delivered = 0;
  let recording = false;
  sub.onPacket = (p) => {
    if (p.type !== 'publish') return;
    delivered++;
    if (p.qos === 1) sub.socket.write(pubackPacket(p.packetId!));
    if (recording) samples.push(Number(process.hrtime.bigint() - p.payload.readBigUInt64BE(0)) / 1000);
  };
  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => LoadClient.open(t.pubPort, `lpub${qos}-${i}`)),
  );
  const start = performance.now();
  let sent = 0;
  let nextId = 1;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - sent;
    for (let n = 0; n < due; n++) {
      const payload = Buffer.alloc(64);
      payload.writeBigUInt64BE(process.hrtime.bigint(), 0);
      const packetId = qos === 1 ? nextId : undefined;
      nextId = nextId === 65_535 ? 1 : nextId + 1;
      pubs[sent % PUBLISHERS]!.socket.write(
        publishPacket(`lat/${sent % PUBLISHERS}`, payload, qos, packetId),
      );
      sent++;
    }
  }, 1);
  setTimeout(() => {
    recording = true;
  }, 1000);
  const w = await t.measure(() => delivered);
  clearInterval(timer);
  for (const p of [...pubs, sub]) p.close();
  samples.sort((x, y) => x - y);
  const pick = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  await sleep(500);
  return { ...w, p50: pick(0.5), p99: pick(0.99), samples: samples.length };
}

/**
 * A device stack without TCP_NODELAY doing publish-then-wait: one client publishes QoS 1 to a
 * topic it subscribes to at QoS 1, waits for both the PUBACK and the message, acknowledges the
 * message, and publishes again. Round trips in ms (median and p90 over `rounds`). Where the
 * broker sends its PUBACK in the segment that carries the message, the client's next PUBLISH
 * waits in its own Nagle for the broker's delayed ACK.
 */
export async function nagleRoundTrips(port: number, rounds = 200) {
  const client = await LoadClient.open(port, 'nagle');
  client.socket.setNoDelay(false);
  await client.subscribe('nagle/t', 1);
  const payload = Buffer.alloc(16);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const packetId = (i % 65_000) + 2;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      let acked = false;
      let received = false;
      const timer = setTimeout(() => reject(new Error(`round ${i}: no answer in 5 s`)), 5000);
      client.onPacket = (p: Packet) => {
        if (p.type === 'puback' && p.packetId === packetId) acked = true;
        if (p.type === 'publish') {
          received = true;
          client.socket.write(pubackPacket(p.packetId!));
        }
        if (acked && received) {
          clearTimeout(timer);
          resolve();
        }
      };
      client.socket.write(publishPacket('nagle/t', payload, 1, packetId));
    });
    times.push(performance.now() - started);
  }
  client.close();
  times.sort((x, y) => x - y);
  return { median: times[rounds >> 1]!, p90: times[Math.floor(rounds * 0.9)]! };
}
