// The well-behaved clients of bench:hostile: N clients, each subscribed at QoS 1 to its own topic
// and publishing QoS 1 to its neighbour's at a steady total rate, with the send time in the
// payload; the latency of every delivery is kept per measuring window, and every lost
// connection is counted (a well-behaved client must never be disconnected by someone else's abuse).

import type { Packet } from '../src/protocol/index.js';
import { LoadClient, pubackPacket, publishPacket } from './broker-load.js';

export interface SteadyLoad {
  /** Starts a new window: what is measured from now on. */
  window(): void;
  /** Latencies (ms) delivered in the window, sorted; deliveries sent in it and not arrived. */
  measured(): { latencies: number[]; sent: number; received: number; disconnects: number };
  /** Stops publishing (the deliveries under way still arrive and are counted). */
  quiet(): void;
  stop(): void;
}

const TICK_MS = 10;

export async function startSteadyLoad(port: number, clients = 200, rate = 2000): Promise<SteadyLoad> {
  const all: LoadClient[] = [];
  for (let i = 0; i < clients; i++) {
    const c = await LoadClient.open(port, `good-${i}`, 20_000);
    await c.subscribe(`good/${i}`, 1);
    all.push(c);
  }
  let latencies: number[] = [];
  let sent = 0;
  let received = 0;
  let disconnects = 0;
  let stopped = false;
  let windowStart = 0;
  for (const c of all) {
    c.socket.once('close', () => {
      if (!stopped) disconnects++;
    });
    c.onPacket = (p: Packet) => {
      if (p.type !== 'publish') return;
      if (p.qos === 1) c.socket.write(pubackPacket(p.packetId!));
      // Only what was sent in this window counts: sent and received then match message for message.
      const sentAt = p.payload.readDoubleBE(0);
      if (sentAt < windowStart) return;
      latencies.push(performance.now() - sentAt);
      received++;
    };
  }
  const ids = new Array<number>(clients).fill(0);
  let next = 0;
  let owed = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    owed += ((now - last) * rate) / 1000;
    last = now;
    for (; owed >= 1; owed--) {
      const i = next;
      next = (next + 1) % clients;
      ids[i] = (ids[i]! % 65_535) + 1;
      const payload = Buffer.alloc(16);
      payload.writeDoubleBE(performance.now(), 0);
      all[i]!.socket.write(publishPacket(`good/${(i + 1) % clients}`, payload, 1, ids[i]));
      sent++;
    }
  }, TICK_MS);
  return {
    window() {
      windowStart = performance.now();
      latencies = [];
      sent = 0;
      received = 0;
      disconnects = 0;
    },
    measured() {
      return { latencies: [...latencies].sort((a, b) => a - b), sent, received, disconnects };
    },
    quiet() {
      clearInterval(ticker);
    },
    stop() {
      stopped = true;
      clearInterval(ticker);
      for (const c of all) c.close();
    },
  };
}
