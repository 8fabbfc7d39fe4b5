// A cluster node that fails, on a real redis-server: `warden broker --cluster` child processes
// killed with SIGKILL, or stopped with SIGSTOP (a node too slow to beat). A surviving node takes
// the dead node's sessions: their wills are published (a delayed one after its delay), messages
// published meanwhile are kept for its persistent sessions, and their clients resume there. A
// node that wakes up after its sessions were taken is fenced off: its writes are refused and its
// stale connection gets DISCONNECT 0x8E, while the new owner's session is untouched.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Broker } from '../../src/broker/index.js';
import { clusterNode, connectRecording } from '../support/cluster-node.js';
import { type Started, start, until, WARDEN, within } from '../support/processes.js';
import { type RunningRedis, startRedis } from '../support/redis.js';

let redis: RunningRedis;
let survivor: Broker;
let inspect: Redis;
const children: Started[] = [];

/** A node as its own process, so that it can be killed; resolves with its MQTT port. */
async function nodeProcess(nodeId: string): Promise<{ node: Started; port: number }> {
  const node = start('node', [
    ...WARDEN,
    'broker',
    ...['-p', '0', '--no-ws', '--no-tls'],
    ...['--cluster', redis.url, '--node-id', nodeId],
  ]);
  children.push(node);
  const [, port] = await node.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/, 20_000);
  return { node, port: Number(port) };
}

const connect = connectRecording;

const port = (broker: Broker) => broker.listeners[0]!.port;
const will = (topic: string, delay = 0) => ({
  topic,
  payload: Buffer.from(`${topic} gone`),
  qos: 1 as const,
  retain: false,
  ...(delay > 0 && { properties: { willDelayInterval: delay } }),
});

before(async () => {
  redis = await startRedis();
  inspect = new Redis(redis.url);
  survivor = await clusterNode(redis.url, 'survivor');
});
after(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  await Promise.all(children.map((c) => c.done(5000)));
  await survivor?.close();
  inspect?.disconnect();
  await redis?.stop();
});

describe('a node fails', () => {
  it("killed with SIGKILL: a survivor publishes its clients' wills and keeps its persistent sessions for their return", async () => {
    const { node: doomed, port: doomedPort } = await nodeProcess('doomed');
    const watcher = await connect(port(survivor), 'will-watcher', { clean: true, properties: {} });
    const arrivals = new Map<string, number>();
    watcher.client.on('message', (topic) => arrivals.set(topic, Date.now()));
    await watcher.client.subscribeAsync('wills/#', { qos: 1 });
    const persistent = await connect(doomedPort, 'kept', { will: will('wills/kept') });
    await persistent.client.subscribeAsync('kq/#', { qos: 1 });
    await connect(doomedPort, 'fleeting', { clean: true, properties: {}, will: will('wills/fleeting') });
    await connect(doomedPort, 'patient', { will: will('wills/patient', 2) });
    await connect(doomedPort, 'nameless', { clean: true, properties: {} }); // no will, no session kept
    assert.match((await inspect.get('warden:owner:nameless')) ?? '', /@doomed$/);
    const publisher = await connect(port(survivor), 'kq-publisher', { clean: true, properties: {} });
    for (const n of [1, 2]) await publisher.client.publishAsync(`kq/${n}`, String(n), { qos: 1 });
    await until('kq/1 and kq/2 on the doomed node', () => persistent.messages.length === 2, 5000);

    doomed.process.kill('SIGKILL');
    assert.equal((await doomed.done(5000)).signal, 'SIGKILL');
    const killedAt = Date.now();
    // Acknowledged by the survivor while the dead node's sessions are nobody's yet.
    for (const n of [3, 4, 5, 6]) await publisher.client.publishAsync(`kq/${n}`, String(n), { qos: 1 });

    await until(
      'the wills without a delay',
      () => arrivals.has('wills/kept') && arrivals.has('wills/fleeting'),
      10_000,
    );
    await until('the delayed will', () => arrivals.has('wills/patient'), 10_000);
    assert.ok(
      arrivals.get('wills/patient')! - arrivals.get('wills/kept')! >= 1500,
      'the 2 s Will Delay Interval is waited out',
    );
    assert.ok(arrivals.get('wills/kept')! - killedAt < 8000, 'declared dead within seconds');

    // A clean session without a will leaves nothing behind: its client id is nobody's.
    const deadline = Date.now() + 5000;
    while ((await inspect.get('warden:owner:nameless')) !== null) {
      assert.ok(Date.now() < deadline, "the dead node still owns the clean session's client id");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const back = await connect(port(survivor), 'kept');
    assert.equal(back.sessionPresent, true);
    await until('the messages published while its node was dead', () => back.messages.length >= 4, 5000);
    const all = new Set([...persistent.messages, ...back.messages].map((m) => m.payload));
    assert.deepEqual([...all].sort(), ['1', '2', '3', '4', '5', '6']);
    for (const c of [back, watcher, publisher]) await c.client.endAsync();
  });

  it("a client whose node's heartbeat is gone is taken by the node it reaches, with what the log held since that node's cursor", async () => {
    // A node that died and was never taken over: its session, owner token and cursor, as it left
    // them (not listed in warden:nodes, so no survivor adopts it meanwhile).
    const record = {
      clientId: 'ghostly',
      expiryInterval: 300,
      subscriptions: [{ filter: 'gq/#', qos: 1, noLocal: false, retainAsPublished: false }],
    };
    await inspect.set('warden:owner:ghostly', '1@ghost');
    await inspect.sadd('warden:owned:ghost', 'ghostly');
    await inspect.set('warden:session:ghostly', JSON.stringify(record));
    const last = await inspect.xrevrange('warden:log', '+', '-', 'COUNT', 1);
    await inspect.hset('warden:cursors', 'ghost', last[0]?.[0] ?? '0-0');
    const publisher = await connect(port(survivor), 'gq-publisher', { clean: true, properties: {} });
    await publisher.client.publishAsync('gq/1', 'after the ghost stopped', { qos: 1 });
    // A node that has just joined waits a heartbeat's time before it calls anyone dead, then takes it.
    const late = await clusterNode(redis.url, 'late');
    try {
      const back = await connect(port(late), 'ghostly');
      assert.equal(back.sessionPresent, true);
      await until('the message published after its cursor', () => back.messages.length === 1, 5000);
      assert.equal(back.messages[0]!.payload, 'after the ghost stopped');
      assert.match((await inspect.get('warden:owner:ghostly')) ?? '', /@late$/);
      await back.client.endAsync();
    } finally {
      await publisher.client.endAsync();
      await late.close();
    }
  });

  it('stopped past its heartbeat: its session is taken, and once it wakes its writes are fenced off (0x8E)', async () => {
    const { node: sleepy, port: sleepyPort } = await nodeProcess('sleepy');
    const stale = await connect(sleepyPort, 'fenced');
    await stale.client.subscribeAsync('fence/#', { qos: 1 });
    const staleGone = new Promise<number | undefined>((resolve) =>
      stale.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    sleepy.process.kill('SIGSTOP');
    try {
      const deadline = Date.now() + 10_000;
      while (!((await inspect.get('warden:owner:fenced')) ?? '').endsWith('@survivor')) {
        assert.ok(Date.now() < deadline, 'the survivor did not take the session within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const fresh = await connect(port(survivor), 'fenced');
      assert.equal(fresh.sessionPresent, true);
      sleepy.process.kill('SIGCONT');
      const publisher = await connect(port(survivor), 'fence-publisher', { clean: true, properties: {} });
      await publisher.client.publishAsync('fence/1', 'once', { qos: 1 });
      // The woken node routes fence/1 to its stale copy too; its write is refused, so it lets go.
      assert.equal(await within(staleGone, 10_000, 'the stale connection closed'), 0x8e);
      await sleepy.waitFor(/another node owns this session now/, 5000);
      await publisher.client.publishAsync('fence/2', 'sentinel', { qos: 1 });
      await until(
        'the sentinel on the new owner',
        () => fresh.messages.some((m) => m.payload === 'sentinel'),
        5000,
      );
      assert.deepEqual(
        fresh.messages.map((m) => m.payload),
        ['once', 'sentinel'],
      );
      assert.match((await inspect.get('warden:owner:fenced')) ?? '', /@survivor$/);
      for (const c of [fresh, publisher]) await c.client.endAsync();
    } finally {
      sleepy.process.kill('SIGCONT');
      stale.client.end(true);
    }
  });
});
