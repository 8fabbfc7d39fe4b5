// Topic scale (issue 18): 100,000 device topics, each with its own subscription
// (`devices/<id>/cmd`), and 1,000 wildcard subscriptions (`devices/<id>/+` for every 100th device),
// then publishers to random device topics. This machine allows 20,000 file descriptors per
// process, so the 101,000 subscriptions come from 1,010 connections of 100 filters each, not from
// 100,000 clients: what is measured is the broker's subscription tree and routing at that size,
// and what a subscription costs in memory; what a connection costs is the idle case's.

import { encodePacket, type Packet } from '../src/protocol/index.js';
import { rssBytes, sleep, waitList } from './bench-process.js';
import { LoadClient, publishPacket } from './broker-load.js';
import type { Window } from './load-cases.js';

const DEVICES = 100_000;
const PER_CONNECTION = 100;
const WILDCARD_EVERY = 100;
const PUBLISHERS = 10;

export interface TopicScale {
  /** From the first SUBSCRIBE sent to the last SUBACK, all connections at once, ms. */
  readonly subscribeMs: number;
  /** Broker RSS growth over the subscriptions (connections already open), bytes per subscription. */
  readonly bytesPerSubscription: number;
  readonly window: Window;
}

function subscribePacket(filters: string[]): Buffer {
  return encodePacket(
    {
      type: 'subscribe',
      packetId: 1,
      subscriptions: filters.map((topicFilter) => ({
        topicFilter,
        qos: 0 as const,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      })),
    },
    4,
  );
}

export async function topicScale(
  port: number,
  pid: number,
  measure: (delivered: () => number) => Promise<Window>,
): Promise<TopicScale> {
  const filterSets: string[][] = [];
  for (let first = 0; first < DEVICES; first += PER_CONNECTION)
    filterSets.push(Array.from({ length: PER_CONNECTION }, (_, k) => `devices/${first + k}/cmd`));
  const wildcards = Array.from(
    { length: DEVICES / WILDCARD_EVERY },
    (_, j) => `devices/${j * WILDCARD_EVERY}/+`,
  );
  for (let i = 0; i < wildcards.length; i += PER_CONNECTION)
    filterSets.push(wildcards.slice(i, i + PER_CONNECTION));
  const subs: LoadClient[] = [];
  for (let i = 0; i < filterSets.length; i += 250) {
    const batch = Array.from({ length: Math.min(250, filterSets.length - i) }, (_, k) =>
      LoadClient.open(port, `ts-${i + k}`, 30_000),
    );
    subs.push(...(await Promise.all(batch)));
  }
  await sleep(1000);
  const before = rssBytes(pid);
  let delivered = 0;
  const { wait, wakeAll } = waitList();
  const started = performance.now();
  await Promise.all(
    subs.map(
      (sub, i) =>
        new Promise<void>((resolve) => {
          sub.onPacket = (p: Packet) => {
            if (p.type === 'suback') resolve();
            else if (p.type === 'publish') {
              delivered++;
              if ((delivered & 255) === 0) wakeAll();
            }
          };
          sub.socket.write(subscribePacket(filterSets[i]!));
        }),
    ),
  );
  const subscribeMs = performance.now() - started;
  await sleep(1000);
  const bytesPerSubscription = (rssBytes(pid) - before) / (DEVICES + wildcards.length);

  // Each publish reaches its device's subscriber, and every 100th device's wildcard subscriber
  // too; publishers stay at most 2,000 deliveries ahead, as in the fan-in case.
  const pubs = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => LoadClient.open(port, `ts-pub-${i}`)),
  );
  const payload = Buffer.alloc(64, 0x61);
  let expected = 0;
  let running = true;
  let seed = 20261202;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    return seed % DEVICES;
  };
  const loops = pubs.map(async (pub) => {
    while (running) {
      if (expected - delivered >= 2000) {
        await Promise.race([wait(), sleep(50)]);
        continue;
      }
      const out: Buffer[] = [];
      for (let n = 0; n < 50; n++) {
        const id = random();
        out.push(publishPacket(`devices/${id}/cmd`, payload, 0));
        expected += id % WILDCARD_EVERY === 0 ? 2 : 1;
      }
      await pub.write(Buffer.concat(out));
    }
  });
  const window = await measure(() => delivered);
  running = false;
  wakeAll();
  await Promise.allSettled(loops);
  for (const c of [...pubs, ...subs]) c.close();
  await sleep(1000);
  return { subscribeMs, bytesPerSubscription, window };
}
