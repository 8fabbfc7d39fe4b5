// Codec throughput, ours against mqtt-packet, same process, same inputs.
// Decode: a stream of back-to-back packets fed in 64 KiB chunks, as a socket delivers them.
// Encode: packet object -> one Buffer holding the whole packet (mqtt-packet's generate()).
// Socket path (PUBLISH): what a broker hands to socket.write: our header buffer plus the payload
// slice, against mqtt-packet's writeToStream() into a stream that keeps the chunks it is given.
// Usage: npm run bench:codec [-- --seconds 1]

import mqttPacket from 'mqtt-packet';
import {
  encodePacket,
  encodePublishHeader,
  FrameDecoder,
  type Packet,
  type ProtocolVersion,
} from '../src/protocol/index.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 1;

interface Case {
  readonly name: string;
  readonly version: ProtocolVersion;
  readonly ours: Packet;
  readonly theirs: Record<string, unknown>;
}

const payload = (n: number) => Buffer.alloc(n, 0x61);
const v5Props = {
  ours: {
    messageExpiryInterval: 3600,
    contentType: 'application/json',
    correlationData: Buffer.from('0123456789abcdef'),
    userProperties: [
      ['site', 'plant-7'],
      ['line', '3'],
    ] as const,
  },
  theirs: {
    messageExpiryInterval: 3600,
    contentType: 'application/json',
    correlationData: Buffer.from('0123456789abcdef'),
    userProperties: { site: 'plant-7', line: '3' },
  },
};

function publish(size: number, version: ProtocolVersion): Case {
  const topic = 'factory/plant-7/line-3/sensor-42/temperature';
  const v5 = version === 5;
  return {
    name: `PUBLISH ${size >= 1024 ? `${size / 1024} KB` : `${size} B`} QoS 1 ${v5 ? 'v5 + properties' : 'v3.1.1'}`,
    version,
    ours: {
      type: 'publish',
      topic,
      payload: payload(size),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 42,
      properties: v5 ? v5Props.ours : undefined,
    },
    theirs: {
      cmd: 'publish',
      topic,
      payload: payload(size),
      qos: 1,
      retain: false,
      dup: false,
      messageId: 42,
      properties: v5 ? v5Props.theirs : undefined,
    },
  };
}

const cases: Case[] = [
  publish(64, 4),
  publish(1024, 4),
  publish(65536, 4),
  publish(64, 5),
  publish(1024, 5),
  publish(65536, 5),
  {
    name: 'CONNECT v3.1.1 (user, password, will)',
    version: 4,
    ours: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 60,
      clientId: 'sensor-42',
      username: 'device',
      password: Buffer.from('secret-password'),
      will: { topic: 'factory/sensor-42/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    },
    theirs: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      clientId: 'sensor-42',
      username: 'device',
      password: Buffer.from('secret-password'),
      will: { topic: 'factory/sensor-42/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    },
  },
  {
    name: 'SUBSCRIBE v3.1.1 (3 filters)',
    version: 4,
    ours: {
      type: 'subscribe',
      packetId: 7,
      subscriptions: ['factory/+/line-3/#', 'alerts/#', '$SYS/broker/uptime'].map((topicFilter) => ({
        topicFilter,
        qos: 1 as const,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      })),
    },
    theirs: {
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: ['factory/+/line-3/#', 'alerts/#', '$SYS/broker/uptime'].map((topic) => ({
        topic,
        qos: 1,
      })),
    },
  },
];

const collectGarbage = (globalThis as { gc?: () => void }).gc;

/** Runs fn repeatedly for `seconds`, after a GC and a warm-up; returns operations per second (best of 5). */
function rate(fn: () => number): number {
  collectGarbage?.();
  const until = (ms: number) => {
    let ops = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(ms * 1e6));
    let now = start;
    while (now < end) {
      ops += fn();
      now = process.hrtime.bigint();
    }
    return ops / (Number(now - start) / 1e9);
  };
  until(300);
  const rounds = Array.from({ length: 5 }, () => until((seconds * 1000) / 5));
  return Math.max(...rounds);
}

function stream(bytes: Buffer): Buffer[] {
  const count = Math.max(1, Math.ceil((4 * 1024 * 1024) / bytes.length));
  const all = Buffer.concat(Array.from({ length: count }, () => bytes));
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += 65536) chunks.push(all.subarray(at, at + 65536));
  return chunks;
}

/** The cheapest stream mqtt-packet's writeToStream accepts: it keeps the chunks, as a socket would. */
class KeepingStream {
  chunks: unknown[] = [];
  write(chunk: unknown): boolean {
    this.chunks.push(chunk);
    return true;
  }
  destroy(error: Error): void {
    throw error;
  }
}

const rows: string[] = [];
const socketRows: string[] = [];
let failures = 0;
for (const c of cases) {
  const bytes = encodePacket(c.ours, c.version);
  const check = mqttPacket.generate(c.theirs as never, { protocolVersion: c.version });
  if (!check.equals(bytes)) throw new Error(`${c.name}: the two encoders disagree; fix the case first`);
  const chunks = stream(bytes);
  const perStream = chunks.reduce((n, chunk) => n + chunk.length, 0) / bytes.length;
  const decoderVersion = c.ours.type === 'connect' ? undefined : c.version;

  const oursDecode = rate(() => {
    const decoder = new FrameDecoder({ protocolVersion: decoderVersion });
    let n = 0;
    for (const chunk of chunks) n += decoder.push(chunk).length;
    if (n !== perStream) throw new Error(`decoded ${n} of ${perStream}`);
    return n;
  });
  const theirsDecode = rate(() => {
    const parser = mqttPacket.parser({ protocolVersion: c.version });
    let n = 0;
    parser.on('packet', () => n++);
    for (const chunk of chunks) parser.parse(chunk);
    if (n !== perStream) throw new Error(`mqtt-packet decoded ${n} of ${perStream}`);
    return n;
  });
  const batch = 64;
  const oursEncode = rate(() => {
    for (let i = 0; i < batch; i++) encodePacket(c.ours, c.version);
    return batch;
  });
  const theirsEncode = rate(() => {
    for (let i = 0; i < batch; i++) mqttPacket.generate(c.theirs as never, { protocolVersion: c.version });
    return batch;
  });
  const mb = (perSecond: number) => ((perSecond * bytes.length) / 1e6).toFixed(0);
  const k = (perSecond: number) => (perSecond / 1000).toFixed(0);
  const decodeRatio = oursDecode / theirsDecode;
  const encodeRatio = oursEncode / theirsEncode;
  if (decodeRatio < 3 || encodeRatio < 2) failures++;
  rows.push(
    `| ${c.name} | ${bytes.length} | ${k(oursDecode)}k (${mb(oursDecode)} MB/s) | ${k(theirsDecode)}k (${mb(theirsDecode)} MB/s) | **${decodeRatio.toFixed(1)}x** | ${k(oursEncode)}k (${mb(oursEncode)} MB/s) | ${k(theirsEncode)}k (${mb(theirsEncode)} MB/s) | **${encodeRatio.toFixed(1)}x** |`,
  );
  if (c.ours.type === 'publish') {
    const publishPacket = c.ours;
    const sink = new KeepingStream();
    const oursSocket = rate(() => {
      for (let i = 0; i < batch; i++) {
        sink.chunks.length = 0;
        sink.write(encodePublishHeader(publishPacket, c.version));
        sink.write(publishPacket.payload);
      }
      return batch;
    });
    const theirsSocket = rate(() => {
      for (let i = 0; i < batch; i++) {
        sink.chunks.length = 0;
        mqttPacket.writeToStream(c.theirs as never, sink as never, { protocolVersion: c.version });
      }
      return batch;
    });
    socketRows.push(
      `| ${c.name} | ${k(oursSocket)}k | ${k(theirsSocket)}k | **${(oursSocket / theirsSocket).toFixed(1)}x** |`,
    );
  }
  console.error(`done: ${c.name}`);
}

console.log(
  `Node ${process.version}, mqtt-packet ${(await import('mqtt-packet/package.json', { with: { type: 'json' } })).default.version}, ${seconds}s per measurement (best of 5 after GC and warm-up)\n`,
);
console.log(
  '| case | bytes | decode ours (packets/s) | decode mqtt-packet | ratio | encode ours (packets/s) | encode mqtt-packet | ratio |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
console.log('\nSocket path, PUBLISH (header + payload slice, no payload copy):\n');
console.log('| case | ours (packets/s) | mqtt-packet writeToStream | ratio |');
console.log('|---|---:|---:|---:|');
for (const row of socketRows) console.log(row);
console.log(
  `\nTargets (decode >= 3x, encode >= 2x): ${failures === 0 ? 'all met' : `${failures} case(s) below target`}`,
);
