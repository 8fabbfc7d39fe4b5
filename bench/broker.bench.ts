// Warden's broker against Debian's mosquitto, same generator, same run, same mosquitto.conf
// (warden reads it too). The broker runs pinned to core 0 (taskset); run this generator pinned
// to core 1 (npm run bench:broker does). Broker CPU comes from /proc/<pid>/stat, so CPU per
// delivered message is valid even when the generator is the bottleneck.
// "warden+metrics" is the same broker with its admin listener on and /metrics scraped every
// second (Prometheus' default is every 15 s): what metrics cost the message paths.
// "node floor" (net-floor.ts) is a bare Node `net` server that answers CONNECT with CONNACK: it
// runs only the start, churn and idle cases (FLOOR_CASES): the least any Node broker can cost.
// Usage: npm run bench:broker [-- --seconds 5 --connections 5000 --only warden,warden+metrics,mosquitto,node floor]

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePacket } from '../src/protocol/index.js';
import {
  arg,
  cpuMs,
  freePort,
  rssBytes,
  sleep,
  startPinned,
  stopProcess,
  waitList,
} from './bench-process.js';
import { LoadClient, pubackPacket, publishPacket } from './broker-load.js';
import { fanIn, type LoadTarget, latency, nagleRoundTrips, type Window } from './load-cases.js';
import { NET_FLOOR_SOURCE } from './net-floor.js';
import { topicScale } from './topic-scale.js';

const SECONDS = Number(arg('seconds', '5'));
const CONNECTIONS = Number(arg('connections', '5000'));
type BrokerName = 'warden' | 'warden+metrics' | 'mosquitto' | 'node floor';
const BROKERS: readonly BrokerName[] = ['warden', 'warden+metrics', 'mosquitto', 'node floor'];
const ONLY = new Set(arg('only', BROKERS.join(',')).split(','));
const CASES = new Set(
  arg('cases', 'start,churn,qos0,qos1,latency,nagle,fanout,topics,idle,overload').split(','),
);
/** What the floor can be measured on: it has no sessions or routing. */
const FLOOR_CASES = new Set(['start', 'churn', 'idle']);
/** Connections of the churn case, and how many at a time. */
const CHURN = Number(arg('churn', '20000'));
const CHURN_PARALLEL = 20;
/** Subscribers of the one topic in the fan-out case. */
const FANOUT = Number(arg('fanout', '1000'));
const PUBLISHERS = 10;
interface BrokerUnderTest {
  readonly name: string;
  readonly process: ChildProcess;
  readonly port: number;
  /** warden+metrics: stops scraping. */
  readonly stopScraping?: () => void;
}

const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));

/** `tcpNoDelay` false: the file leaves set_tcp_nodelay out, so each broker keeps Nagle on by default. */
async function startBroker(name: BrokerName, tcpNoDelay = true): Promise<BrokerUnderTest> {
  const port = await freePort();
  const conf = join(dir, `${name}${tcpNoDelay ? '' : '-nagle'}.conf`);
  // One file for both. Logging only errors, so neither pays for a line per connection.
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      ...(tcpNoDelay ? ['set_tcp_nodelay true'] : []),
      'max_queued_messages 1000',
      'sys_interval 0',
      'log_type error',
      '',
    ].join('\n'),
  );
  // WARDEN_NODE_ARGS="--cpu-prof" profiles our broker under the same load.
  const nodeArgs = process.env.WARDEN_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const adminPort = name === 'warden+metrics' ? await freePort() : undefined;
  const command =
    name === 'mosquitto'
      ? ['mosquitto', '-c', conf]
      : name === 'node floor'
        ? ['node', '-e', NET_FLOOR_SOURCE, String(port)]
        : [
            ...['node', ...nodeArgs, 'dist/cli/main.js', 'broker', '-c', conf],
            ...(adminPort === undefined ? [] : ['--admin-port', String(adminPort)]),
          ];
  const child = await startPinned(name, command, async () =>
    (await LoadClient.open(port, 'probe', 1000)).close(),
  );
  if (adminPort === undefined) return { name, process: child, port };
  let scrapes = 0;
  const timer = setInterval(() => {
    void fetch(`http://127.0.0.1:${adminPort}/metrics`)
      .then((r) => r.text())
      .then(() => scrapes++)
      .catch(() => undefined);
  }, 1000);
  return {
    name,
    process: child,
    port,
    stopScraping: () => {
      clearInterval(timer);
      console.error(`  ${name}: ${scrapes} scrapes of /metrics`);
    },
  };
}

const stopBroker = (b: BrokerUnderTest) => {
  b.stopScraping?.();
  return stopProcess(b.process);
};

/** Counts deliveries and broker CPU over SECONDS after one second of warm-up. */
async function measure(b: BrokerUnderTest, delivered: () => number, accepted = () => 0): Promise<Window> {
  await sleep(1000);
  const d0 = delivered();
  const a0 = accepted();
  const c0 = cpuMs(b.process.pid!);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  return {
    delivered: delivered() - d0,
    accepted: accepted() - a0,
    cpuMs: cpuMs(b.process.pid!) - c0,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The shared load cases against one broker: publishers and subscriber on its port. */
const target = (b: BrokerUnderTest): LoadTarget => ({
  pubPort: b.port,
  subPort: b.port,
  measure: (delivered, accepted) => measure(b, delivered, accepted),
});

/**
 * The whole process's RSS with nothing connected: once it is ready, and 15 s later, when V8 has
 * given back what starting up used (its memory reducer runs about 8 s after the last activity).
 */
async function startRss(b: BrokerUnderTest) {
  const ready = rssBytes(b.process.pid!);
  await sleep(15_000);
  return { ready, settled: rssBytes(b.process.pid!) };
}

/**
 * What a connection costs the broker's CPU from accept to close, over plain TCP: connect,
 * CONNECT, CONNACK, DISCONNECT, close, CHURN_PARALLEL at a time (as a fleet reconnecting).
 * 2,000 first warm the broker up; CPU is counted over the CHURN after them.
 */
async function connectionChurn(b: BrokerUnderTest) {
  const connectOnce = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = createConnection(b.port, '127.0.0.1', () => {
        socket.setNoDelay(true);
        socket.write(encodePacket({ ...CHURN_CONNECT, clientId: `churn-${i}` }, 4));
      });
      socket.once('data', () => socket.end(DISCONNECT));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
  const run = async (total: number) => {
    let started = 0;
    await Promise.all(
      Array.from({ length: CHURN_PARALLEL }, async () => {
        while (started < total) await connectOnce(started++);
      }),
    );
  };
  await run(2000);
  const c0 = cpuMs(b.process.pid!);
  const t0 = performance.now();
  await run(CHURN);
  return {
    cpuUsPerConnection: ((cpuMs(b.process.pid!) - c0) * 1000) / CHURN,
    perSecond: CHURN / ((performance.now() - t0) / 1000),
  };
}
const CHURN_CONNECT = {
  type: 'connect',
  protocolName: 'MQTT',
  protocolVersion: 4,
  clientId: '',
  clean: true,
  keepAlive: 60,
} as const;
const DISCONNECT = Buffer.from([0xe0, 0x00]);

/**
 * RSS growth per connected idle client, at CONNECTIONS clients; then the marginal cost, from
 * CONNECTIONS to twice as many. The first figure carries V8 growing its young generation to
 * full size (some MiB whatever the count); the second is what one more connection costs.
 */
async function idleConnections(b: BrokerUnderTest) {
  await sleep(500);
  const before = rssBytes(b.process.pid!);
  const clients: LoadClient[] = [];
  const open = async (from: number) => {
    for (let i = from; i < from + CONNECTIONS; i += 250) {
      const batch = Array.from({ length: Math.min(250, from + CONNECTIONS - i) }, (_, k) =>
        LoadClient.open(b.port, `idle${i + k}`, 30_000),
      );
      clients.push(...(await Promise.all(batch)));
    }
    await sleep(1000);
    return rssBytes(b.process.pid!);
  };
  const after = await open(0);
  const twice = await open(CONNECTIONS);
  for (const c of clients) c.close();
  await sleep(500);
  return {
    perConnection: (after - before) / CONNECTIONS,
    marginal: (twice - after) / CONNECTIONS,
    before,
    after,
    twice,
  };
}

/**
 * One publisher, FANOUT subscribers of its one topic (issue 18): deliveries per second and broker
 * CPU per delivery. The publisher keeps at most 20 messages ahead of the slowest delivery count,
 * so nothing is queued past the limits and the rate is one the broker sustains.
 */
async function fanOut(b: BrokerUnderTest, qos: 0 | 1, size: number): Promise<Window> {
  const subs: LoadClient[] = [];
  for (let i = 0; i < FANOUT; i += 250) {
    const batch = Array.from({ length: Math.min(250, FANOUT - i) }, (_, k) =>
      LoadClient.open(b.port, `fo${qos}-${size}-${i + k}`, 30_000),
    );
    subs.push(...(await Promise.all(batch)));
  }
  await Promise.all(subs.map((s) => s.subscribe('out/one', qos)));
  let delivered = 0;
  const { wait, wakeAll } = waitList();
  for (const s of subs)
    s.onPacket = (p) => {
      if (p.type !== 'publish') return;
      delivered++;
      if (p.qos === 1) s.socket.write(pubackPacket(p.packetId!));
      if ((delivered & 1023) === 0) wakeAll();
    };
  const pub = await LoadClient.open(b.port, `fo-pub-${qos}-${size}`);
  const payload = Buffer.alloc(size, 0x61);
  let published = 0;
  let nextId = 1;
  let running = true;
  const loop = (async () => {
    while (running) {
      if (published - delivered / FANOUT >= 20) {
        await Promise.race([wait(), sleep(50)]);
        continue;
      }
      const out: Buffer[] = [];
      for (let n = 0; n < 10; n++) {
        out.push(publishPacket('out/one', payload, qos, qos === 1 ? nextId : undefined));
        nextId = (nextId % 65_535) + 1;
      }
      published += 10;
      await pub.write(Buffer.concat(out));
    }
  })();
  const window = await measure(b, () => delivered);
  running = false;
  await loop;
  for (const c of [pub, ...subs]) c.close();
  await sleep(500);
  return window;
}

/** 10 s of publishers at full speed, 1 KB each, towards a subscriber that never reads. */
async function overload(b: BrokerUnderTest) {
  const stalled = await LoadClient.open(b.port, 'stalled');
  await stalled.subscribe('over/#', 0);
  stalled.socket.pause();
  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => LoadClient.open(b.port, `opub${i}`)),
  );
  let running = true;
  let sentBytes = 0;
  const payload = Buffer.alloc(1024, 0x62);
  const loops = pubs.map(async (pub, i) => {
    const batch = Buffer.concat(Array.from({ length: 50 }, () => publishPacket(`over/${i}`, payload, 0)));
    while (running) {
      await pub.write(batch);
      sentBytes += batch.length;
    }
  });
  const start = rssBytes(b.process.pid!);
  let peak = start;
  for (let t = 0; t < 40; t++) {
    await sleep(250);
    peak = Math.max(peak, rssBytes(b.process.pid!));
  }
  running = false;
  const end = rssBytes(b.process.pid!);
  let alive = false;
  try {
    (await LoadClient.open(b.port, 'after-overload', 5000)).close();
    alive = b.process.exitCode === null;
  } catch {
    alive = false;
  }
  for (const p of [...pubs, stalled]) p.close();
  await Promise.race([Promise.allSettled(loops), sleep(2000)]);
  return { start, peak, end, alive, acceptedMB: sentBytes / 1e6 };
}

async function runAll(name: BrokerName) {
  const b = await startBroker(name);
  try {
    const step = <T>(what: string, run: () => Promise<T>) => {
      console.error(`  ${name}: ${what}`);
      return run();
    };
    /** The case is asked for, and this server can run it (the floor only FLOOR_CASES). */
    const runs = (what: string) => CASES.has(what) && (name !== 'node floor' || FLOOR_CASES.has(what));
    const skip = <T>(what: string, run: () => Promise<T>): Promise<T | undefined> =>
      runs(what) ? step(what, run) : Promise.resolve(undefined);
    const start = await skip('start', () => startRss(b));
    const churn = await skip('churn', () => connectionChurn(b));
    const qos0 = await skip('qos0', () => fanIn(target(b), 0));
    const qos1 = await skip('qos1', () => fanIn(target(b), 1));
    const lat = await skip('latency', () => latency(target(b), 20_000));
    const nagle = await skip('nagle', async () => {
      const withNoDelay = await nagleRoundTrips(b.port, 100);
      const nagleBroker = await startBroker(name, false);
      try {
        return { withNoDelay, byDefault: await nagleRoundTrips(nagleBroker.port, 100) };
      } finally {
        await stopBroker(nagleBroker);
      }
    });
    const fan = runs('fanout')
      ? {
          q0small: await step('fanout QoS 0, 64 B', () => fanOut(b, 0, 64)),
          q0large: await step('fanout QoS 0, 1 KB', () => fanOut(b, 0, 1024)),
          q1small: await step('fanout QoS 1, 64 B', () => fanOut(b, 1, 64)),
          q1large: await step('fanout QoS 1, 1 KB', () => fanOut(b, 1, 1024)),
        }
      : undefined;
    const topics = await skip('topics', () => topicScale(b.port, b.process.pid!, (d) => measure(b, d)));
    const idle = await skip('idle', () => idleConnections(b));
    const over = await skip('overload', () => overload(b));
    return { start, churn, qos0, qos1, lat, nagle, fan, topics, idle, over };
  } finally {
    await stopBroker(b);
  }
}

type Result = Awaited<ReturnType<typeof runAll>>;
const results: Partial<Record<BrokerName, Result>> = {};
for (const name of BROKERS) {
  if (!ONLY.has(name)) continue;
  console.error(`benchmarking ${name} ...`);
  results[name] = await runAll(name);
}

const rate = (w: Window) => w.delivered / w.seconds;
const usPerMsg = (w: Window) => (w.cpuMs * 1000) / Math.max(1, w.delivered);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const rows: Array<[string, (r: Result) => number, (n: number) => string, 'higher' | 'lower']> = [
  [
    'idle broker RSS, nothing connected, 15 s after start, MiB',
    (r) => (r.start?.settled ?? Number.NaN) / 1024 / 1024,
    (n) => n.toFixed(1),
    'lower',
  ],
  [
    `churn: broker CPU µs per connection (TCP, CONNECT, CONNACK, DISCONNECT), ${CHURN_PARALLEL} at a time`,
    (r) => r.churn?.cpuUsPerConnection ?? Number.NaN,
    (n) => n.toFixed(1),
    'lower',
  ],
  ['churn: connections per second', (r) => r.churn?.perSecond ?? Number.NaN, (n) => n.toFixed(0), 'higher'],
  [
    'QoS 0 fan-in 10->1, 64 B: delivered msg/s',
    (r) => (r.qos0 ? rate(r.qos0) : Number.NaN),
    (n) => n.toFixed(0),
    'higher',
  ],
  [
    'QoS 0 fan-in: broker CPU µs per delivered msg',
    (r) => (r.qos0 ? usPerMsg(r.qos0) : Number.NaN),
    (n) => n.toFixed(2),
    'lower',
  ],
  [
    'QoS 1 fan-in 10->1, 64 B: delivered msg/s',
    (r) => (r.qos1 ? rate(r.qos1) : Number.NaN),
    (n) => n.toFixed(0),
    'higher',
  ],
  [
    'QoS 1 fan-in: PUBLISHes acknowledged to publishers /s',
    (r) => (r.qos1 ? r.qos1.accepted / r.qos1.seconds : Number.NaN),
    (n) => n.toFixed(0),
    'higher',
  ],
  [
    'QoS 1 fan-in: broker CPU µs per delivered msg',
    (r) => (r.qos1 ? usPerMsg(r.qos1) : Number.NaN),
    (n) => n.toFixed(2),
    'lower',
  ],
  ['20k msg/s QoS 0: p50 latency µs', (r) => r.lat?.p50 ?? Number.NaN, (n) => n.toFixed(0), 'lower'],
  ['20k msg/s QoS 0: p99 latency µs', (r) => r.lat?.p99 ?? Number.NaN, (n) => n.toFixed(0), 'lower'],
  [
    'publish-then-wait, client without TCP_NODELAY, QoS 1 to itself, no set_tcp_nodelay: median ms',
    (r) => r.nagle?.byDefault.median ?? Number.NaN,
    (n) => n.toFixed(2),
    'lower',
  ],
  [
    'same, set_tcp_nodelay true: median ms',
    (r) => r.nagle?.withNoDelay.median ?? Number.NaN,
    (n) => n.toFixed(2),
    'lower',
  ],
  [
    '20k msg/s QoS 0: broker CPU µs per delivered msg',
    (r) => (r.lat ? usPerMsg(r.lat) : Number.NaN),
    (n) => n.toFixed(2),
    'lower',
  ],
  ...(
    [
      ['q0small', 'QoS 0, 64 B'],
      ['q0large', 'QoS 0, 1 KB'],
      ['q1small', 'QoS 1, 64 B'],
      ['q1large', 'QoS 1, 1 KB'],
    ] as const
  ).flatMap(([key, label]): typeof rows => [
    [
      `fan-out 1->${FANOUT}, ${label}: deliveries/s`,
      (r) => (r.fan ? rate(r.fan[key]) : Number.NaN),
      (n) => n.toFixed(0),
      'higher',
    ],
    [
      `fan-out 1->${FANOUT}, ${label}: broker CPU µs per delivery`,
      (r) => (r.fan ? usPerMsg(r.fan[key]) : Number.NaN),
      (n) => n.toFixed(3),
      'lower',
    ],
  ]),
  [
    'topics: 100,000 device subscriptions + 1,000 wildcards, subscribe time ms',
    (r) => r.topics?.subscribeMs ?? Number.NaN,
    (n) => n.toFixed(0),
    'lower',
  ],
  [
    'topics: broker RSS per subscription, bytes',
    (r) => r.topics?.bytesPerSubscription ?? Number.NaN,
    (n) => n.toFixed(0),
    'lower',
  ],
  [
    'topics: QoS 0 to random device topics, delivered msg/s',
    (r) => (r.topics ? rate(r.topics.window) : Number.NaN),
    (n) => n.toFixed(0),
    'higher',
  ],
  [
    'topics: broker CPU µs per delivered msg',
    (r) => (r.topics ? usPerMsg(r.topics.window) : Number.NaN),
    (n) => n.toFixed(2),
    'lower',
  ],
  [
    `RSS per idle connection at ${CONNECTIONS}, KiB`,
    (r) => (r.idle?.perConnection ?? Number.NaN) / 1024,
    (n) => n.toFixed(1),
    'lower',
  ],
  [
    `RSS per idle connection from ${CONNECTIONS} to ${2 * CONNECTIONS}, KiB`,
    (r) => (r.idle?.marginal ?? Number.NaN) / 1024,
    (n) => n.toFixed(1),
    'lower',
  ],
  [
    'overload 10 s, 1 KB to a stalled subscriber: peak RSS MiB',
    (r) => (r.over?.peak ?? Number.NaN) / 1024 / 1024,
    (n) => n.toFixed(1),
    'lower',
  ],
];
console.log(
  '| measure | warden | warden+metrics | mosquitto | node floor | warden / mosquitto | warden / floor | metrics on / off |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [label, get, fmt] of rows) {
  const of = (name: BrokerName) => (results[name] ? get(results[name]) : Number.NaN);
  const [w, wm, m, f] = [of('warden'), of('warden+metrics'), of('mosquitto'), of('node floor')];
  console.log(
    `| ${label} | ${fmt(w)} | ${fmt(wm)} | ${fmt(m)} | ${fmt(f)} | ${(w / m).toFixed(2)}x | ${(w / f).toFixed(2)}x | ${(wm / w).toFixed(2)}x |`,
  );
}
for (const [name, r] of Object.entries(results)) {
  const notes = [
    r.over &&
      `overload accepted ${r.over.acceptedMB.toFixed(0)} MB from publishers; RSS ${mb(r.over.start)} -> peak ${mb(r.over.peak)} -> end ${mb(r.over.end)} MiB; alive after: ${r.over.alive}`,
    r.qos0 && `QoS 0 fan-in lost ${r.qos0.lost}`,
    r.qos1 && `QoS 1 fan-in lost ${r.qos1.lost}`,
    r.lat && `latency samples ${r.lat.samples}`,
    r.start && `RSS when ready ${mb(r.start.ready)} MiB, 15 s later ${mb(r.start.settled)} MiB`,
    r.idle && `idle RSS ${mb(r.idle.before)} -> ${mb(r.idle.after)} -> ${mb(r.idle.twice)} MiB`,
  ].filter(Boolean);
  console.log(`\n${name}: ${notes.join('; ')}`);
}
