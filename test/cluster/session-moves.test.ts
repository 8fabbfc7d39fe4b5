// Sessions shared by the nodes of a cluster on a real redis-server: a client that comes back
// through another node resumes its persistent session (Session Present 1, its subscriptions, the
// messages queued while it was away), a second connection with the same client id on another
// node takes the session over (the old connection gets DISCONNECT 0x8E), and a session moved
// around three nodes while a publisher streams QoS 1 messages at it loses none of them and gets
// them in order.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../src/broker/index.js';
import { clusterNode, connectRecording } from '../support/cluster-node.js';
import { until, within } from '../support/processes.js';
import { type RunningRedis, startRedis } from '../support/redis.js';

let redis: RunningRedis;
let a: Broker;
let b: Broker;
let c: Broker;

const node = (nodeId: string) => clusterNode(redis.url, nodeId);
const connect = connectRecording;

before(async () => {
  redis = await startRedis();
  a = await node('node-a');
  b = await node('node-b');
  c = await node('node-c');
});
after(async () => {
  await a?.close();
  await b?.close();
  await c?.close();
  await redis?.stop();
});

describe('a session moves between nodes', () => {
  it('resumes on node B with Session Present 1, its subscription and the messages queued while it was away on A', async () => {
    const first = await connect(a, 'roamer');
    assert.equal(first.sessionPresent, false);
    await first.client.subscribeAsync('roam/#', { qos: 1 });
    await first.client.endAsync();
    const publisher = await connect(b, 'roam-publisher', { clean: true, properties: {} });
    for (let n = 1; n <= 3; n++) await publisher.client.publishAsync(`roam/${n}`, `queued ${n}`, { qos: 1 });
    const back = await connect(b, 'roamer');
    assert.equal(back.sessionPresent, true);
    await until('the three queued messages', () => back.messages.length === 3, 5000);
    assert.deepEqual(
      back.messages.map((m) => `${m.topic} ${m.payload} ${m.qos}`),
      ['roam/1 queued 1 1', 'roam/2 queued 2 1', 'roam/3 queued 3 1'],
    );
    // The subscription came along: a message published on A now reaches the client on B.
    const onA = await connect(a, 'roam-publisher-a', { clean: true, properties: {} });
    await onA.client.publishAsync('roam/live', 'after the move', { qos: 1 });
    await until('the live message', () => back.messages.length === 4, 5000);
    assert.equal(back.messages[3]!.payload, 'after the move');
    assert.equal(a.core.sessions.has('roamer'), false, 'node A holds the session no more');
    for (const c of [back, publisher, onA]) await c.client.endAsync();
  });

  it('a connection on node B takes the session over from node A: the old one gets DISCONNECT 0x8E', async () => {
    const old = await connect(a, 'contested');
    await old.client.subscribeAsync('contest/#', { qos: 1 });
    const disconnected = new Promise<number | undefined>((resolve) =>
      old.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const fresh = await connect(b, 'contested');
    assert.equal(await within(disconnected, 5000, 'the DISCONNECT'), 0x8e);
    assert.equal(fresh.sessionPresent, true);
    const publisher = await connect(a, 'contest-publisher', { clean: true, properties: {} });
    await publisher.client.publishAsync('contest/1', 'to the new owner', { qos: 1 });
    await until('delivery on B', () => fresh.messages.length === 1, 5000);
    assert.equal(old.messages.length, 0);
    // A clean start through A takes it back and discards it.
    const disconnectedB = new Promise<number | undefined>((resolve) =>
      fresh.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const clean = await connect(a, 'contested', { clean: true });
    assert.equal(await within(disconnectedB, 5000, 'the DISCONNECT on B'), 0x8e);
    assert.equal(clean.sessionPresent, false);
    old.client.end(true);
    for (const c of [fresh, clean, publisher]) await c.client.endAsync();
  });

  it('moving a session around three nodes while QoS 1 messages stream at it loses none, in order', async () => {
    const TOTAL = 300;
    let holder = await connect(a, 'mover');
    await holder.client.subscribeAsync('stream/#', { qos: 1 });
    // Each connection records from before its CONNACK (a queued message may come with it).
    const holders = [holder];
    const received = () => new Set(holders.flatMap((h) => h.messages.map((m) => Number(m.payload))));
    const publisher = await connect(b, 'stream-publisher', { clean: true, properties: {} });
    const publishing = (async () => {
      for (let n = 0; n < TOTAL; n++) await publisher.client.publishAsync('stream/x', String(n), { qos: 1 });
    })();
    for (const next of [b, c, a, c, b]) {
      const before = received().size;
      await until('some progress', () => received().size > before, 5000);
      const previous = holder;
      holder = await connect(next, 'mover');
      assert.equal(holder.sessionPresent, true);
      holders.push(holder);
      previous.client.end(true);
    }
    await within(publishing, 30_000, 'the publisher');
    await until(`all ${TOTAL} messages`, () => received().size === TOTAL, 10_000);
    // In order on each connection: a message resent after a move may repeat what came before it.
    for (const h of holders) {
      const seen = h.messages.map((m) => Number(m.payload));
      const firstTimes = seen.filter((n, i) => seen.indexOf(n) === i);
      assert.deepEqual(
        firstTimes,
        [...firstTimes].sort((x, y) => x - y),
        'per-publisher order kept',
      );
    }
    for (const c of [holder, publisher]) await c.client.endAsync();
  });
});
