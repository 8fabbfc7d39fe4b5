// Two warden nodes on a real redis-server (the first step of the cluster): a message published
// on one node reaches subscribers on the other at its QoS with its properties, retained messages
// are shared, and a publisher's PUBACK waits until Redis has the message (with Redis gone it
// gets none, and its connection is closed with 0x80 so that it resends; /readyz and the
// warden_cluster_redis_up metric say so).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { freePort } from '../../bench/bench-process.js';
import type { Broker } from '../../src/broker/index.js';
import { clusterNode } from '../support/cluster-node.js';
import { run, runWarden, until, within } from '../support/processes.js';
import { type RunningRedis, startRedis } from '../support/redis.js';

let redis: RunningRedis;
let a: Broker;
let b: Broker;

const node = (nodeId: string) => clusterNode(redis.url, nodeId, { sysInterval: 1, admin: { port: 0 } });
const readyz = async (broker: Broker) => {
  const response = await fetch(`${broker.admin!.url}/readyz`);
  return `${response.status} ${((await response.json()) as { reason?: string }).reason ?? 'ready'}`;
};
const redisUp = async (broker: Broker, nodeId: string) =>
  (await (await fetch(`${broker.admin!.url}/metrics`)).text()).match(
    new RegExp(`^warden_cluster_redis_up\\{node="${nodeId}"\\} (\\d)$`, 'm'),
  )?.[1];
const client = (broker: Broker, clientId: string) =>
  within(
    mqtt.connectAsync(`mqtt://127.0.0.1:${broker.listeners[0]!.port}`, {
      clientId,
      protocolVersion: 5,
      reconnectPeriod: 0,
    }),
    5000,
    clientId,
  );

before(async () => {
  redis = await startRedis();
  a = await node('node-a');
  b = await node('node-b');
});
after(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

describe('two nodes on Redis', () => {
  it('a message published on node A reaches a subscriber on node B at QoS 0, 1 and 2, with its properties', async () => {
    const subscriber = await client(b, 'sub-on-b');
    const got: Array<{ topic: string; qos: number; payload: string; user?: unknown; correlation?: string }> =
      [];
    subscriber.on('message', (topic, payload, packet) =>
      got.push({
        topic,
        qos: packet.qos,
        payload: payload.toString(),
        user: { ...packet.properties?.userProperties },
        correlation: packet.properties?.correlationData?.toString(),
      }),
    );
    await subscriber.subscribeAsync('x/#', { qos: 2 });
    const publisher = await client(a, 'pub-on-a');
    for (const qos of [0, 1, 2] as const)
      await publisher.publishAsync(`x/${qos}`, `at ${qos}`, {
        qos,
        properties: { userProperties: { site: 'north' }, correlationData: Buffer.from(`c${qos}`) },
      });
    await until('three messages on B', () => got.length === 3, 5000);
    assert.deepEqual(
      got.sort((x, y) => x.topic.localeCompare(y.topic)),
      [0, 1, 2].map((qos) => ({
        topic: `x/${qos}`,
        qos,
        payload: `at ${qos}`,
        user: { site: 'north' },
        correlation: `c${qos}`,
      })),
    );
    await publisher.endAsync();
    await subscriber.endAsync();
  });

  it('a message retained through node A is sent by node B to a new subscriber', async () => {
    const publisher = await client(a, 'retainer');
    await publisher.publishAsync('r/shared', 'kept', { qos: 1, retain: true });
    await publisher.endAsync();
    await until('B has it', () => b.core.retained.match('r/shared').length === 1, 5000);
    const subscriber = await client(b, 'late-on-b');
    const got: string[] = [];
    subscriber.on('message', (topic, payload) => got.push(`${topic} ${payload}`));
    await subscriber.subscribeAsync('r/#', { qos: 1 });
    await until('the retained message', () => got.length === 1, 5000);
    assert.deepEqual(got, ['r/shared kept']);
    await subscriber.endAsync();
  });

  it('across nodes a subscriber gets its own subscription identifiers and retain-as-published', async () => {
    const subscriber = await client(b, 'rap-on-b');
    const got: Array<{ retain: boolean; ids?: number[] }> = [];
    subscriber.on('message', (_topic, _payload, packet) =>
      got.push({
        retain: packet.retain,
        ids: packet.properties?.subscriptionIdentifier as number[] | undefined,
      }),
    );
    await subscriber.subscribeAsync('rap/#', {
      qos: 1,
      rap: true,
      properties: { subscriptionIdentifier: 7 },
    });
    await subscriber.subscribeAsync('rap/+/x', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    const publisher = await client(a, 'rap-publisher');
    await publisher.publishAsync('rap/1/x', 'kept', { qos: 1, retain: true });
    await until('the message', () => got.length === 1, 5000);
    assert.equal(got[0]!.retain, true, 'retain-as-published keeps the flag');
    assert.deepEqual([...(got[0]!.ids ?? [])].sort(), [7, 9]);
    await publisher.publishAsync('rap/1/x', '', { qos: 1, retain: true });
    for (const c of [subscriber, publisher]) await c.endAsync();
  });

  it('every node reports the nodes: /metrics (promtool-clean), /api/overview and $SYS', async () => {
    const metrics = async () => (await fetch(`${a.admin!.url}/metrics`)).text();
    const deadline = Date.now() + 5000;
    while (!/^warden_cluster_node_up\{node="node-b"\} 1$/m.test(await metrics())) {
      assert.ok(Date.now() < deadline, 'node A did not see node B within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const text = await metrics();
    assert.match(text, /^warden_cluster_node_up\{node="node-a"\} 1$/m);
    const checked = await run('promtool', ['check', 'metrics'], 20_000, text);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
    const overview = (await (await fetch(`${b.admin!.url}/api/overview`)).json()) as {
      cluster: { nodeId: string; nodes: Array<{ node: string; alive: boolean }> };
    };
    assert.equal(overview.cluster.nodeId, 'node-b');
    assert.deepEqual(overview.cluster.nodes, [
      { node: 'node-a', alive: true },
      { node: 'node-b', alive: true },
    ]);
    const sys = await client(a, 'sys-reader');
    const values = new Map<string, string>();
    sys.on('message', (topic, payload) => values.set(topic, payload.toString()));
    await sys.subscribeAsync('$SYS/broker/cluster/#');
    await until('$SYS/broker/cluster', () => values.has('$SYS/broker/cluster/node/node-b/state'), 5000);
    assert.equal(values.get('$SYS/broker/cluster/node_id'), 'node-a');
    assert.equal(values.get('$SYS/broker/cluster/nodes'), '2');
    assert.equal(values.get('$SYS/broker/cluster/node/node-b/state'), '1');
    await sys.endAsync();
  });

  it('a shared subscription spreads across its members on both nodes, each message to exactly one of them', async () => {
    const members = [await client(a, 'worker-a'), await client(b, 'worker-b1'), await client(b, 'worker-b2')];
    const got = members.map(() => [] as string[]);
    members.forEach((m, n) => {
      m.on('message', (_topic, payload) => got[n]!.push(payload.toString()));
    });
    for (const m of members) await m.subscribeAsync('$share/workers/job/#', { qos: 1 });
    const publisher = await client(a, 'job-publisher');
    const total = () => got.reduce((sum, g) => sum + g.length, 0);
    for (let n = 0; n < 90; n++) await publisher.publishAsync(`job/${n}`, String(n), { qos: 1 });
    await until('90 deliveries', () => total() >= 90, 5000);
    // A sentinel through a plain subscription published after them: any duplicate would be in by then.
    const sentinel = await client(b, 'job-sentinel');
    let sentinelSeen = false;
    sentinel.on('message', () => {
      sentinelSeen = true;
    });
    await sentinel.subscribeAsync('job/sentinel', { qos: 1 });
    await publisher.publishAsync('job/sentinel', 'end', { qos: 1 });
    await until('the sentinel', () => sentinelSeen, 5000);
    const all = got.flat().filter((p) => p !== 'end');
    assert.equal(all.length, 90, 'each message went to one member only');
    assert.equal(new Set(all).size, 90);
    for (const [n, g] of got.entries()) assert.ok(g.length > 0, `member ${n} got a share`);
    // A member that leaves gets no more; the others share what follows.
    await members[1]!.unsubscribeAsync('$share/workers/job/#');
    const before = got[1]!.length;
    const others = got[0]!.length + got[2]!.length;
    for (let n = 90; n < 120; n++) await publisher.publishAsync(`job/${n}`, String(n), { qos: 1 });
    await until('30 more deliveries', () => got[0]!.length + got[2]!.length - others === 30, 5000);
    assert.equal(got[1]!.length, before);
    for (const c of [...members, publisher, sentinel]) await c.endAsync();
  });

  it('with Redis gone: no PUBACK for QoS 1 (closed with 0x80), local QoS 0 still flows, a new CONNECT gets 0x88', async () => {
    const local = await client(a, 'local-sub');
    const seen: string[] = [];
    local.on('message', (topic) => seen.push(topic));
    await local.subscribeAsync('y/#', { qos: 0 });
    const publisher = await client(a, 'pub-no-redis');
    const other = await client(a, 'pub-qos0');
    assert.equal(await readyz(a), '200 ready');
    assert.equal(await redisUp(a, 'node-a'), '1');
    await redis.stop();
    const deadline = Date.now() + 10_000;
    while ((await readyz(a)) !== '503 Redis unreachable') {
      assert.ok(Date.now() < deadline, '/readyz did not report Redis unreachable within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await redisUp(a, 'node-a'), '0');
    const closed = new Promise<number>((resolve) =>
      publisher.once('disconnect', (packet: { reasonCode?: number }) => resolve(packet.reasonCode ?? -1)),
    );
    publisher.publish('y/q1', 'must not be acknowledged', { qos: 1 });
    assert.equal(await within(closed, 10_000, 'the DISCONNECT'), 0x80);
    publisher.end(true);
    // The QoS 0 message after it is the sentinel: by the time it arrives, y/q1 would have.
    other.publish('y/q0', 'local', { qos: 0 });
    await until('the local QoS 0 delivery', () => seen.includes('y/q0'), 5000);
    assert.deepEqual(seen, ['y/q0'], 'the unacknowledged QoS 1 message was not routed');
    await assert.rejects(
      client(a, 'new-while-down'),
      (error: Error & { code?: number }) => error.code === 0x88,
    );
    other.end(true);
    local.end(true);
  });
});

describe('joining a cluster', () => {
  it('warden broker --cluster with no Redis there: exit 1 naming the URL, its password hidden', async () => {
    const port = await freePort();
    const result = await runWarden(
      'broker',
      ...['-p', '0', '--no-persistence', '--cluster', `redis://warden:s3cret-pw@127.0.0.1:${port}`],
      ...['--node-id', 'lonely'],
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`warden broker: cluster: Redis redis://warden:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
    );
    assert.doesNotMatch(result.stdout + result.stderr, /s3cret-pw/);
  });
});
