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
import { arg, cpuMs, freePort, rssBytes, sleep, stopProcess } from './bench-process.js';
import { LoadClient, pubackPacket, publishPacket } from './broker-load.js';

const SECONDS = Number(arg('seconds', '5'));
const SESSIONS = Number(arg('sessions', '100000'));
const PER_SESSION = Number(arg('per-session', '10'));
const CASES = new Set(arg('cases', 'fanin,restart').split(','));
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
  let waiters: Array<() => void> = [];
  const wakeAll = () => {
    const woken = waiters;
    waiters = [];
    for (const w of woken) w();
  };
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
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), sleep(200)]);
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

const results: Partial<
  Record<Name, { fan?: Awaited<ReturnType<typeof fanIn>>; rs?: Awaited<ReturnType<typeof restart>> }>
> = {};
for (const name of ['warden-memory', 'warden-lmdb', 'mosquitto'] as const) {
  if (ONLY && ONLY !== name) continue;
  console.error(`benchmarking ${name} ...`);
  let b = await startBroker(name);
  const r: (typeof results)[Name] = {};
  try {
    if (CASES.has('fanin')) r.fan = await fanIn(b);
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
const rows: Array<[string, (r: NonNullable<(typeof results)[Name]>) => number | undefined, number]> = [
  ['QoS 1 fan-in 10->1 to a persistent session, 64 B: delivered msg/s', (r) => r.fan?.delivered, 0],
  ['  PUBACKs to publishers /s', (r) => r.fan?.acked, 0],
  ['  PUBACK latency p50 µs', (r) => r.fan?.p50, 0],
  ['  PUBACK latency p99 µs', (r) => r.fan?.p99, 0],
  ['  broker CPU µs per delivered msg', (r) => r.fan?.cpuUs, 2],
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
