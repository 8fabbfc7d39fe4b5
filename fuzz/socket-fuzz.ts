// The socket-level fuzzer (issue 17): a live warden broker (built, in its own process), a probe
// pair of clients doing QoS 1 round trips all along, and connections sending mutated packet
// streams: a valid CONNECT most of the time, then packets from the corpus with 1 to 4 mutations
// each. What must hold: the broker stays up, the probe is never disconnected and keeps its
// round trips going (the slowest is reported), and the broker's memory stays bounded.
// Usage: npm run fuzz:socket -- [--seed 1] [--count 20000] [--concurrency 20] [--broker "node dist/cli/main.js"]
// Exit code 1 when the broker exited, or the probe was disconnected or stalled for 5 s.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, freePort, rssBytes, sleep } from '../bench/bench-process.js';
import { LoadClient, pubackPacket, publishPacket } from '../bench/broker-load.js';
import { encodePacket, type Packet } from '../src/protocol/index.js';
import { corpus, inputRandom, mutated } from './mutate.js';

export interface SocketFuzzReport {
  readonly streams: number;
  readonly closedByBroker: number;
  readonly brokerAlive: boolean;
  readonly probeDisconnected: boolean;
  readonly roundTrips: number;
  readonly slowestRoundTripMs: number;
  readonly p99RoundTripMs: number;
  readonly peakRssMb: number;
  readonly seconds: number;
  readonly brokerOutput: string;
}

const PACKETS_PER_STREAM = 16;

/** One connection: a CONNECT (valid or not), mutated packets, then wait for the broker's verdict (200 ms at most). */
export async function stream(port: number, samples: ReturnType<typeof corpus>, seed: number, index: number): Promise<boolean> {
  const r = inputRandom(seed, -1 - index);
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
  const opened = await Promise.race([
    new Promise<boolean>((resolve) => socket.once('connect', () => resolve(true))),
    closed.then(() => false),
    sleep(2000).then(() => false),
  ]);
  if (!opened) {
    socket.destroy();
    return true;
  }
  const version = r() < 0.5 ? 4 : 5;
  const parts: Buffer[] = [];
  if (r() < 0.8)
    parts.push(
      encodePacket(
        { type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepAlive: 30, clientId: `fuzz-${index}` },
        version,
      ),
    );
  for (let n = 0; n < PACKETS_PER_STREAM; n++) parts.push(mutated(samples, seed, index * PACKETS_PER_STREAM + n).bytes);
  // Written whole, or a part at a time.
  if (r() < 0.5) socket.write(Buffer.concat(parts));
  else for (const part of parts) socket.write(part);
  const byBroker = await Promise.race([closed, sleep(200).then(() => false)]);
  socket.destroy();
  return byBroker;
}

export async function fuzzSocket(options: {
  seed: number;
  count: number;
  concurrency: number;
  broker: string[];
}): Promise<SocketFuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-socket-fuzz-'));
  const port = await freePort();
  const conf = join(dir, 'fuzz.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'sys_interval 0', 'persistence false', 'max_packet_size 1048576', ''].join('\n'),
  );
  let output = '';
  const broker = spawn(options.broker[0]!, [...options.broker.slice(1), 'broker', '-c', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  broker.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  broker.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  let exited = false;
  broker.once('exit', () => (exited = true));
  const started = performance.now();
  try {
    let sub: LoadClient | undefined;
    for (let tries = 0; sub === undefined; tries++) {
      try {
        sub = await LoadClient.open(port, 'probe-sub', 1000);
      } catch (error) {
        if (tries > 200) throw error;
        await sleep(50);
      }
    }
    const pub = await LoadClient.open(port, 'probe-pub');
    await sub.subscribe('probe/rt', 1);
    let probeDisconnected = false;
    sub.socket.once('close', () => (probeDisconnected = true));
    pub.socket.once('close', () => (probeDisconnected = true));
    const latencies: number[] = [];
    let sentAt = 0;
    let waiting = false;
    let stalled = false;
    sub.onPacket = (p: Packet) => {
      if (p.type !== 'publish') return;
      if (p.qos === 1) sub.socket.write(pubackPacket(p.packetId!));
      latencies.push(performance.now() - sentAt);
      waiting = false;
    };
    let id = 0;
    const probe = setInterval(() => {
      if (waiting) {
        if (performance.now() - sentAt > 5000) stalled = true;
        return;
      }
      waiting = true;
      sentAt = performance.now();
      id = (id % 65_535) + 1;
      pub.socket.write(publishPacket('probe/rt', Buffer.from('x'), 1, id));
    }, 20);
    let peakRss = 0;
    const rss = setInterval(() => {
      if (!exited) peakRss = Math.max(peakRss, rssBytes(broker.pid!));
    }, 200);
    const samples = corpus(options.seed);
    let next = 0;
    let closedByBroker = 0;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < options.count && !exited) {
          const index = next++;
          if (await stream(port, samples, options.seed, index)) closedByBroker++;
        }
      }),
    );
    // The probe's last round trip, then the verdict.
    const end = performance.now() + 5000;
    while (waiting && performance.now() < end) await sleep(20);
    clearInterval(probe);
    clearInterval(rss);
    const sorted = [...latencies].sort((a, b) => a - b);
    pub.close();
    sub.close();
    return {
      streams: options.count,
      closedByBroker,
      brokerAlive: !exited,
      probeDisconnected,
      roundTrips: latencies.length,
      slowestRoundTripMs: stalled ? Number.POSITIVE_INFINITY : (sorted.at(-1) ?? 0),
      p99RoundTripMs: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      peakRssMb: peakRss / 2 ** 20,
      seconds: (performance.now() - started) / 1000,
      brokerOutput: output,
    };
  } finally {
    broker.kill('SIGKILL');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seed = Number(arg('seed', '1'));
  const report = await fuzzSocket({
    seed,
    count: Number(arg('count', '20000')),
    concurrency: Number(arg('concurrency', '20')),
    broker: arg('broker', 'node dist/cli/main.js').split(' '),
  });
  console.log(
    `socket fuzz: seed ${seed}, ${report.streams} streams of ${PACKETS_PER_STREAM} mutated packets, ` +
      `${report.closedByBroker} closed by the broker; broker ${report.brokerAlive ? 'up' : 'EXITED'}; ` +
      `probe ${report.probeDisconnected ? 'DISCONNECTED' : 'connected'}, ${report.roundTrips} QoS 1 round trips, ` +
      `p99 ${report.p99RoundTripMs.toFixed(2)} ms, slowest ${report.slowestRoundTripMs.toFixed(2)} ms; ` +
      `broker peak RSS ${report.peakRssMb.toFixed(0)} MB; ${report.seconds.toFixed(0)} s`,
  );
  const ok = report.brokerAlive && !report.probeDisconnected && Number.isFinite(report.slowestRoundTripMs);
  if (!ok) console.log(report.brokerOutput);
  process.exitCode = ok ? 0 : 1;
}
