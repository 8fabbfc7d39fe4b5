// The cluster on one machine: warden alone, one warden node on a local Redis, two nodes (the
// publishers on node A, the subscriber on node B: every message crosses nodes), and Debian's
// mosquitto, in one run. Brokers are pinned: the single broker and node A to core 0, node B to
// core 1 (run this generator on core 1: npm run bench:cluster does); Redis is not pinned.
// Measures: QoS 0 and QoS 1 fan-in (10 publishers -> 1 subscriber, 64 B) delivered msg/s and
// CPU per message (brokers + Redis), latency at a fixed 10,000 msg/s (p50/p99), and failover:
// from kill -9 of node A to the wills of its 200 clients published by node B.
// Redis runs without persistence here (appendonly no): what the log costs, not the disk.
// Usage: npm run bench:cluster [-- --seconds 5 --only warden,cluster-1,cluster-2,mosquitto]
// NODE_B_CORE=0 puts node B on core 0 beside node A, leaving core 1 to the generator.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, cpuMs, freePort, sleep, startPinned, stopProcess } from './bench-process.js';
import { LoadClient, pubackPacket } from './broker-load.js';
import { fanIn, type LoadTarget, latency } from './load-cases.js';

const SECONDS = Number(arg('seconds', '5'));
type Setup = 'warden' | 'cluster-1' | 'cluster-2' | 'mosquitto';
const SETUPS: readonly Setup[] = ['warden', 'cluster-1', 'cluster-2', 'mosquitto'];
const ONLY = new Set(arg('only', SETUPS.join(',')).split(','));
const RATE = 10_000;
const WILLS = 200;
const dir = mkdtempSync(join(tmpdir(), 'warden-cluster-bench-'));

interface Running {
  /** Where publishers connect, and where the subscriber does. */
  readonly pubPort: number;
  readonly subPort: number;
  /** Every process whose CPU counts (brokers, Redis). */
  readonly pids: () => number[];
  stop(): Promise<void>;
  /** cluster-2: node A as its own process, to kill. */
  readonly nodeA?: ChildProcess;
}

async function startRedis(): Promise<{ process: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let tries = 0; tries < 100; tries++) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = spawn('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      probe.on('exit', (code) => resolve(code === 0));
    });
    if (up) return { process: child, url: `redis://127.0.0.1:${port}` };
    await sleep(100);
  }
  throw new Error('redis-server did not start');
}

async function startBroker(
  name: string,
  args: string[],
  core: number,
): Promise<{ process: ChildProcess; port: number }> {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'sys_interval 0',
      'log_type error',
      '',
    ].join('\n'),
  );
  const command =
    name === 'mosquitto'
      ? ['mosquitto', '-c', conf]
      : ['node', 'dist/cli/main.js', 'broker', '-c', conf, ...args];
  const child = await startPinned(
    name,
    command,
    async () => (await LoadClient.open(port, 'probe', 1000)).close(),
    core,
  );
  return { process: child, port };
}

async function setUp(setup: Setup): Promise<Running> {
  if (setup === 'warden' || setup === 'mosquitto') {
    const b = await startBroker(setup, ['--no-persistence'], 0);
    return {
      pubPort: b.port,
      subPort: b.port,
      pids: () => [b.process.pid!],
      stop: () => stopProcess(b.process),
    };
  }
  const redis = await startRedis();
  const a = await startBroker(`${setup}-a`, ['--cluster', redis.url, '--node-id', 'a'], 0);
  const b =
    setup === 'cluster-2'
      ? await startBroker(
          `${setup}-b`,
          ['--cluster', redis.url, '--node-id', 'b'],
          Number(process.env.NODE_B_CORE ?? 1),
        )
      : a;
  return {
    pubPort: a.port,
    subPort: b.port,
    pids: () =>
      [...new Set([a.process.pid!, b.process.pid!, redis.process.pid!])].filter((pid) => pid !== undefined),
    nodeA: setup === 'cluster-2' ? a.process : undefined,
    async stop() {
      await stopProcess(a.process);
      if (b !== a) await stopProcess(b.process);
      await stopProcess(redis.process);
    },
  };
}

const totalCpu = (r: Running) =>
  r.pids().reduce((sum, pid) => {
    try {
      return sum + cpuMs(pid);
    } catch {
      return sum; // a process already gone
    }
  }, 0);

/** The shared load cases: CPU is every broker process's and Redis'. */
const target = (r: Running): LoadTarget => ({
  pubPort: r.pubPort,
  subPort: r.subPort,
  async measure(delivered, accepted = () => 0) {
    await sleep(1000);
    const [d0, a0, c0, t0] = [delivered(), accepted(), totalCpu(r), performance.now()];
    await sleep(SECONDS * 1000);
    return {
      delivered: delivered() - d0,
      accepted: accepted() - a0,
      cpuMs: totalCpu(r) - c0,
      seconds: (performance.now() - t0) / 1000,
    };
  },
});

/** cluster-2: WILLS clients with a will on node A; kill -9 A; ms until node B has sent them all. */
async function failover(r: Running): Promise<number> {
  const watcher = await LoadClient.open(r.subPort, 'will-watcher');
  await watcher.subscribe('will/#', 1);
  let wills = 0;
  let lastAt = 0;
  watcher.onPacket = (p) => {
    if (p.type !== 'publish') return;
    wills++;
    lastAt = performance.now();
    if (p.qos === 1) watcher.socket.write(pubackPacket(p.packetId!));
  };
  const doomed: LoadClient[] = [];
  for (let i = 0; i < WILLS; i++)
    doomed.push(
      await LoadClient.open(r.pubPort, `doomed${i}`, 10_000, true, {
        topic: `will/${i}`,
        payload: Buffer.from('gone'),
      }),
    );
  const killedAt = performance.now();
  r.nodeA!.kill('SIGKILL');
  for (let t = 0; t < 300 && wills < WILLS; t++) await sleep(50);
  for (const c of [...doomed, watcher]) c.close();
  return wills < WILLS ? Number.NaN : lastAt - killedAt;
}

const results: Partial<Record<Setup, Record<string, number>>> = {};
for (const setup of SETUPS) {
  if (!ONLY.has(setup)) continue;
  console.error(`benchmarking ${setup} ...`);
  const r = await setUp(setup);
  try {
    const q0 = await fanIn(target(r), 0);
    const q1 = await fanIn(target(r), 1);
    const l0 = await latency(target(r), RATE, 0);
    const l1 = await latency(target(r), RATE, 1);
    results[setup] = {
      q0rate: q0.delivered / q0.seconds,
      q0cpu: (q0.cpuMs * 1000) / Math.max(1, q0.delivered),
      q1rate: q1.delivered / q1.seconds,
      q1cpu: (q1.cpuMs * 1000) / Math.max(1, q1.delivered),
      l0p50: l0.p50,
      l0p99: l0.p99,
      l1p50: l1.p50,
      l1p99: l1.p99,
      failover: setup === 'cluster-2' ? await failover(r) : Number.NaN,
    };
  } finally {
    await r.stop();
  }
}

const rows: Array<[string, string, (n: number) => string]> = [
  ['QoS 0 fan-in 10->1, 64 B: delivered msg/s', 'q0rate', (n) => n.toFixed(0)],
  ['QoS 0 fan-in: CPU µs per msg (brokers + Redis)', 'q0cpu', (n) => n.toFixed(2)],
  ['QoS 1 fan-in 10->1, 64 B: delivered msg/s', 'q1rate', (n) => n.toFixed(0)],
  ['QoS 1 fan-in: CPU µs per msg (brokers + Redis)', 'q1cpu', (n) => n.toFixed(2)],
  [`${RATE / 1000}k msg/s QoS 0: p50 latency µs`, 'l0p50', (n) => n.toFixed(0)],
  [`${RATE / 1000}k msg/s QoS 0: p99 latency µs`, 'l0p99', (n) => n.toFixed(0)],
  [`${RATE / 1000}k msg/s QoS 1: p50 latency µs`, 'l1p50', (n) => n.toFixed(0)],
  [`${RATE / 1000}k msg/s QoS 1: p99 latency µs`, 'l1p99', (n) => n.toFixed(0)],
  [`kill -9 of node A to its ${WILLS} wills sent by node B, ms`, 'failover', (n) => n.toFixed(0)],
];
console.log(
  '| measure | warden | 1 node + Redis | 2 nodes (cross-node) | mosquitto | 2 nodes / 1 node | 2 nodes / mosquitto |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [label, key, fmt] of rows) {
  const v = (s: Setup) => results[s]?.[key] ?? Number.NaN;
  console.log(
    `| ${label} | ${fmt(v('warden'))} | ${fmt(v('cluster-1'))} | ${fmt(v('cluster-2'))} | ${fmt(v('mosquitto'))} | ${(v('cluster-2') / v('cluster-1')).toFixed(2)}x | ${(v('cluster-2') / v('mosquitto')).toFixed(2)}x |`,
  );
}
