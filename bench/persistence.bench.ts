// Persistence against mosquitto, same generator, same run, one mosquitto.conf per broker:
// - QoS 1 fan-in (10 publishers -> 1 subscriber with a persistent session, 64 B): sustained
//   msg/s and PUBACK latency at the publishers, for warden on its memory store, warden on the
//   embedded store, and mosquitto with `persistence true` (which acknowledges before it writes:
//   its database is written every autosave_interval and at exit).
// - Restart: N persistent sessions holding M queued messages in all; time from the broker's start
//   to its first CONNACK, and a check that a session got its messages back.
// The broker runs pinned to core 0; run this generator pinned to core 1 (npm run bench:persistence does).
// Usage: npm run bench:persistence [-- --seconds 5 --sessions 100000 --per-session 10 --cases fanin,restart --only NAME]

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePacket, FrameDecoder, type Packet } from '../src/protocol/index.js';
import { arg, cpuMs, freePort, rssBytes, sleep, stopProcess, waitList } from './bench-process.js';
import { LoadClient, pubackPacket, publishPacket } from './broker-load.js';

const SECONDS = Number(arg('seconds', '5'));
const SESSIONS = Number(arg('sessions', '100000'));
const PER_SESSION = Number(arg('per-session', '10'));
const CASES = new Set(arg('cases', 'fanin,latency,retained,restart').split(','));
const ONLY = arg('only', '');
const PUBLISHERS = 10;
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-persistence-'));
// Started as root, mosquitto drops to its own user: its store directory must be writable to it.
chmodSync(dir, 0o755);

type Name = 'warden-memory' | 'warden-lmdb' | 'mosquitto';
interface BrokerUnderTest {
  readonly name: Name;
  process: ChildProcess;
  readonly port: number;
  readonly command: string[];
}

function conf(name: Name, port: number): string {
  const store = join(dir, `${name}-store`);
  mkdirSync(store, { recursive: true });
  chmodSync(store, 0o777);
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      `max_queued_messages ${Math.max(1000, PER_SESSION)}`,
      'sys_interval 0',
      'log_type error',
      ...(name === 'warden-memory' ? [] : ['persistence true', `persistence_location ${store}/`]),
      '',
    ].join('\n'),
  );
  return file;
}

/** Spawns the broker pinned to core 0; resolves with the ms from spawn to its first CONNACK. */
async function launch(b: BrokerUnderTest): Promise<number> {
  const started = performance.now();
  b.process = spawn('taskset', ['-c', '0', ...b.command], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let tries = 0; tries < 6000; tries++) {
    try {
      (await LoadClient.open(b.port, 'probe', 1000)).close();
      return performance.now() - started;
    } catch {
      await sleep(10);
    }
  }
  throw new Error(`${b.name} did not start within 60 s`);
}

async function startBroker(name: Name): Promise<BrokerUnderTest> {
  const port = await freePort();
  const file = conf(name, port);
  const command =
    name === 'mosquitto' ? ['mosquitto', '-c', file] : ['node', 'dist/cli/main.js', 'broker', '-c', file];
  const b: BrokerUnderTest = { name, port, command, process: undefined as unknown as ChildProcess };
  await launch(b);
  return b;
}

const pick = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/**
 * 10 publishers -> 1 persistent subscriber at QoS 1. Publishers stop while more than 500 messages
 * are published and not yet delivered, so the rate is what the broker sustains without its queue
 * overflowing (max_queued_messages 1000), as in bench:broker.
 */
async function fanIn(b: BrokerUnderTest) {
  const window = 500;
  const sub = await LoadClient.open(b.port, 'persistent-sub', 10_000, false);
  await sub.subscribe('pfan/#', 1);
  let delivered = 0;
  let acked = 0;
  let sent = 0;
  let recording = false;
  const latencies: number[] = [];
  const { wait, wakeAll } = waitList();
  sub.onPacket = (p: Packet) => {
    if (p.type !== 'publish') return;
    delivered++;
    if (p.qos === 1) sub.socket.write(pubackPacket(p.packetId!));
    wakeAll();
  };
  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => LoadClient.open(b.port, `ppub${i}`)),
  );
  let running = true;
  const payload = Buffer.alloc(64, 0x61);
  const loops = pubs.map(async (pub, i) => {
    const topic = `pfan/${i}`;
    const sentAt = new Float64Array(65_536);
    let nextId = 1;
    pub.onPacket = (p) => {
      if (p.type !== 'puback') return;
      acked++;
      if (recording) latencies.push((performance.now() - sentAt[p.packetId]!) * 1000);
      wakeAll();
    };
    while (running) {
      const budget = Math.min(50, window - (sent - delivered));
      if (budget <= 0) {
        await Promise.race([wait(), sleep(200)]);
        continue;
      }
      sent += budget;
      const out: Buffer[] = [];
      const now = performance.now();
      for (let n = 0; n < budget; n++) {
        sentAt[nextId] = now;
        out.push(publishPacket(topic, payload, 1, nextId));
        nextId = nextId === 65_535 ? 1 : nextId + 1;
      }
      await pub.write(Buffer.concat(out));
    }
  });
  await sleep(1000);
  recording = true;
  const [d0, a0, c0, t0] = [delivered, acked, cpuMs(b.process.pid!), performance.now()];
  await sleep(SECONDS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const result = {
    delivered: (delivered - d0) / seconds,
    acked: (acked - a0) / seconds,
    cpuUs: ((cpuMs(b.process.pid!) - c0) * 1000) / Math.max(1, delivered - d0),
  };
  recording = false;
  running = false;
  wakeAll();
  for (const p of [...pubs, sub]) p.close();
  await Promise.allSettled(loops);
  latencies.sort((x, y) => x - y);
  return { ...result, p50: pick(latencies, 0.5), p99: pick(latencies, 0.99) };
}

/** 10 publishers at a fixed 5,000 QoS 1 msg/s in all to a persistent subscriber: PUBACK latency. */
async function ackLatency(b: BrokerUnderTest) {
  const RATE = 5000;
  const sub = await LoadClient.open(b.port, 'latency-sub', 10_000, false);
  await sub.subscribe('plat/#', 1);
  sub.onPacket = (p: Packet) => {
    if (p.type === 'publish' && p.qos === 1) sub.socket.write(pubackPacket(p.packetId!));
  };
  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => LoadClient.open(b.port, `lpub${i}`)),
  );
  const samples: number[] = [];
  let recording = false;
  const sentAt = pubs.map(() => new Float64Array(65_536));
  pubs.forEach((pub, i) => {
    pub.onPacket = (p) => {
      if (p.type === 'puback' && recording)
        samples.push((performance.now() - sentAt[i]![p.packetId]!) * 1000);
    };
  });
  const payload = Buffer.alloc(64, 0x61);
  const start = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) / 1000) * RATE) - sent;
    for (let n = 0; n < due; n++) {
      const i = sent % PUBLISHERS;
      const id = (Math.floor(sent / PUBLISHERS) % 65_535) + 1;
      sentAt[i]![id] = performance.now();
      pubs[i]!.socket.write(publishPacket(`plat/${i}`, payload, 1, id));
      sent++;
    }
  }, 1);
  await sleep(1000);
  recording = true;
  await sleep(SECONDS * 1000);
  recording = false;
  clearInterval(timer);
  for (const p of [...pubs, sub]) p.close();
  samples.sort((x, y) => x - y);
  return { p50: pick(samples, 0.5), p99: pick(samples, 0.99), samples: samples.length };
}

/**
 * 100,000 retained messages (ret/<0..99>/<0..999>), then one new subscription matching 1,000 of
 * them and one matching 1: ms from SUBSCRIBE until every retained message it asked for arrived.
 */
async function retainedSubscribe(b: BrokerUnderTest) {
  const pub = await LoadClient.open(b.port, 'retainer', 30_000);
  const payload = Buffer.alloc(64, 0x72);
  const total = 100_000;
  for (let i = 0; i < total; i += 1000) {
    const batch = Array.from({ length: 1000 }, (_, k) =>
      encodePacket(
        {
          type: 'publish',
          topic: `ret/${Math.floor((i + k) / 1000)}/${(i + k) % 1000}`,
          payload,
          qos: 0,
          retain: true,
          dup: false,
        },
        4,
      ),
    );
    await pub.write(Buffer.concat(batch));
  }
  // A QoS 1 message after them: once it is acknowledged, the broker has read every one before it.
  await new Promise<void>((resolve) => {
    pub.onPacket = (p) => p.type === 'puback' && resolve();
    pub.socket.write(publishPacket('ret/done', payload, 1, 1));
  });
  pub.close();
  const timeSubscribe = async (filter: string, expected: number) => {
    const sub = await LoadClient.open(b.port, `rsub-${filter}`, 30_000);
    let got = 0;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      sub.onPacket = (p) => {
        if (p.type === 'publish' && ++got === expected) resolve();
      };
      sub.socket.write(
        encodePacket(
          {
            type: 'subscribe',
            packetId: 1,
            subscriptions: [
              { topicFilter: filter, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
            ],
          },
          4,
        ),
      );
    });
    const ms = performance.now() - started;
    sub.close();
    return ms;
  };
  const wide = await timeSubscribe('ret/42/+', 1000);
  const narrow = await timeSubscribe('ret/7/7', 1);
  return { wide, narrow };
}

/** SESSIONS persistent sessions on one filter, then PER_SESSION QoS 1 messages each goes to all. */
async function fill(b: BrokerUnderTest): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < SESSIONS; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, SESSIONS - i) }, async (_, k) => {
        const c = await LoadClient.open(b.port, `rs${i + k}`, 30_000, false);
        await c.subscribe('rs/all', 1);
        c.close();
      }),
    );
  }
  await sleep(500); // the last disconnects are read before the messages come
  const pub = await LoadClient.open(b.port, 'rs-publisher', 30_000);
  for (let n = 1; n <= PER_SESSION; n++) {
    await new Promise<void>((resolve) => {
      pub.onPacket = (p) => p.type === 'puback' && resolve();
      pub.socket.write(publishPacket('rs/all', Buffer.alloc(64, 0x30 + (n % 10)), 1, n));
    });
  }
  pub.close();
  return (performance.now() - started) / 1000;
}

/** Messages a resumed session receives within 10 s (each acknowledged). */
async function resumedCount(port: number, clientId: string): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  const decoder = new FrameDecoder({ protocolVersion: 4 });
  let count = 0;
  socket.on('data', (chunk: Buffer) => {
    for (const p of decoder.push(chunk))
      if (p.type === 'publish') {
        count++;
        socket.write(pubackPacket(p.packetId!));
      }
  });
  socket.on('error', () => undefined);
  socket.write(
    encodePacket(
      { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepAlive: 0, clientId },
      4,
    ),
  );
  for (let t = 0; t < 200 && count < PER_SESSION; t++) await sleep(50);
  await sleep(200);
  socket.destroy();
  return count;
}

async function restart(b: BrokerUnderTest) {
  const fillSeconds = await fill(b);
  const rssBefore = rssBytes(b.process.pid!);
  await stopProcess(b.process); // mosquitto writes its database at exit; warden has nothing left to write
  const ms = await launch(b);
  const rssAfter = rssBytes(b.process.pid!);
  const resumed = await resumedCount(b.port, `rs${SESSIONS - 1}`);
  return { fillSeconds, ms, resumed, rssBefore, rssAfter };
}

interface Results {
  fan?: Awaited<ReturnType<typeof fanIn>>;
  lat?: Awaited<ReturnType<typeof ackLatency>>;
  ret?: Awaited<ReturnType<typeof retainedSubscribe>>;
  rs?: Awaited<ReturnType<typeof restart>>;
}
const results: Partial<Record<Name, Results>> = {};
for (const name of ['warden-memory', 'warden-lmdb', 'mosquitto'] as const) {
  if (ONLY && ONLY !== name) continue;
  console.error(`benchmarking ${name} ...`);
  let b = await startBroker(name);
  const r: Results = {};
  try {
    if (CASES.has('fanin')) r.fan = await fanIn(b);
    if (CASES.has('latency')) r.lat = await ackLatency(b);
    if (CASES.has('retained')) r.ret = await retainedSubscribe(b);
    if (CASES.has('restart') && name !== 'warden-memory') {
      // A fresh store, so the fan-in's session is not counted.
      await stopProcess(b.process);
      b = await startBroker(name);
      r.rs = await restart(b);
    }
  } finally {
    await stopProcess(b.process);
  }
  results[name] = r;
}

const cell = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
const ratio = (a: number | undefined, m: number | undefined) =>
  a === undefined || m === undefined ? '-' : `${(a / m).toFixed(2)}x`;
const rows: Array<[string, (r: Results) => number | undefined, number]> = [
  ['QoS 1 fan-in 10->1 to a persistent session, 64 B: delivered msg/s', (r) => r.fan?.delivered, 0],
  ['  PUBACKs to publishers /s', (r) => r.fan?.acked, 0],
  ['  PUBACK latency p50 µs', (r) => r.fan?.p50, 0],
  ['  PUBACK latency p99 µs', (r) => r.fan?.p99, 0],
  ['  broker CPU µs per delivered msg', (r) => r.fan?.cpuUs, 2],
  ['5,000 QoS 1 msg/s to a persistent session: PUBACK p50 µs', (r) => r.lat?.p50, 0],
  ['  PUBACK p99 µs', (r) => r.lat?.p99, 0],
  ['100,000 retained: SUBSCRIBE ret/42/+ to its 1,000 retained, ms', (r) => r.ret?.wide, 1],
  ['  SUBSCRIBE ret/7/7 to its 1 retained, ms', (r) => r.ret?.narrow, 2],
  [
    `restart with ${SESSIONS} sessions, ${SESSIONS * PER_SESSION} queued: ms to first CONNACK`,
    (r) => r.rs?.ms,
    0,
  ],
  ['  messages a resumed session got back', (r) => r.rs?.resumed, 0],
  ['  RSS after restart, MiB', (r) => (r.rs ? r.rs.rssAfter / 1024 / 1024 : undefined), 0],
  ['  time to fill through MQTT, s', (r) => r.rs?.fillSeconds, 1],
];
console.log(
  '| measure | warden, memory store | warden, embedded store | mosquitto, persistence true | embedded / memory | embedded / mosquitto |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [label, get, digits] of rows) {
  const [m, l, q] = (['warden-memory', 'warden-lmdb', 'mosquitto'] as const).map((n) => {
    const r = results[n];
    return r ? get(r) : undefined;
  });
  console.log(
    `| ${label} | ${cell(m, digits)} | ${cell(l, digits)} | ${cell(q, digits)} | ${ratio(l, m)} | ${ratio(l, q)} |`,
  );
}
