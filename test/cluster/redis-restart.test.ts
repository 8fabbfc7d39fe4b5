// Redis killed (SIGKILL) and restarted under load, with the durability the README recommends
// (appendonly yes, appendfsync always): a publisher on node A streams QoS 1 messages to a
// persistent subscriber on node B; while Redis is away the publisher gets no PUBACK (it is
// closed, and its reconnection refused with 0x88 until Redis is back, then it resends); every
// message it had acknowledged reaches the subscriber, and no node takes the other's sessions
// because their heartbeats expired while Redis was down.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../src/broker/index.js';
import { clusterNode, connectRecording } from '../support/cluster-node.js';
import { until, within } from '../support/processes.js';
import { type RunningRedis, startRedis } from '../support/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-redis-aof-'));
let redis: RunningRedis;
let a: Broker;
let b: Broker;

const node = (nodeId: string) => clusterNode(redis.url, nodeId);

/** A client that reconnects on its own (every 200 ms, refused with 0x88 while Redis is away). */
const connect = async (broker: Broker, clientId: string) =>
  (await connectRecording(broker, clientId, { reconnectPeriod: 200, reconnectOnConnackError: true })).client;

before(async () => {
  redis = await startRedis(undefined, dir);
  a = await node('node-a');
  b = await node('node-b');
});
after(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

describe('Redis restarted under load', () => {
  it("loses no acknowledged QoS 1 message, and no node takes the other's sessions", async () => {
    const TOTAL = 400;
    const subscriber = await connect(b, 'durable-sub');
    const received = new Set<number>();
    subscriber.on('message', (_topic, payload) => received.add(Number(payload.toString())));
    await subscriber.subscribeAsync('load/#', { qos: 1 });
    const publisher = await connect(a, 'durable-pub');
    const acknowledged = new Set<number>();
    let offline = false;
    publisher.on('offline', () => {
      offline = true;
    });
    let refusedWhileDown = 0;
    publisher.on('error', (error: Error & { code?: number }) => {
      if (error.code === 0x88) refusedWhileDown++;
    });
    const publishing = (async () => {
      for (let n = 0; n < TOTAL; n++) {
        await publisher.publishAsync('load/x', String(n), { qos: 1 });
        acknowledged.add(n);
      }
    })();
    await until('a hundred acknowledged', () => acknowledged.size >= 100, 10_000);
    redis.process.process.kill('SIGKILL');
    await redis.process.done(5000);
    // The publisher's next message cannot be kept: it is closed, and refused when it comes back.
    await until('the publisher closed by node A', () => offline, 10_000);
    await until('a reconnection refused with 0x88', () => refusedWhileDown > 0, 10_000);
    const duringOutage = acknowledged.size;
    redis = await startRedis(redis.port, dir);
    await within(publishing, 60_000, 'the publisher, after Redis came back');
    assert.ok(duringOutage < TOTAL, 'Redis went away in the middle of the stream');
    await until(
      `all ${TOTAL} acknowledged messages at the subscriber`,
      () => received.size === TOTAL,
      20_000,
    );
    assert.ok(
      a.core.sessions.has('durable-pub') && b.core.sessions.has('durable-sub'),
      'each node kept its own',
    );
    publisher.end(true);
    subscriber.end(true);
  });
});
