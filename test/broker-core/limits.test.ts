// Broker limits through the core, each refusal with its code: max connections per listener,
// anonymous clients, retain unavailable, topic depth, slow consumers; and the counters kept.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenerPolicy } from '../../src/broker/core/listener-policy.js';
import { CoreHarness } from '../support/core-harness.js';

const connackCode = (p: { type: string; reasonCode?: number }) => (p.type === 'connack' ? p.reasonCode : -1);

describe('max connections per listener', () => {
  it('refuses a client over the limit with 0x97 (v5) or 0x03 (v3), and counts one that left', () => {
    const h = new CoreHarness();
    const listener = listenerPolicy('mqtt://test:1', { maxConnections: 2 });
    const a = h.connect('a', {}, listener);
    h.connect('b', { protocolVersion: 4 }, listener);
    assert.equal(listener.connected, 2);
    assert.equal(connackCode(h.connect('c', {}, listener).connack), 0x97);
    assert.equal(connackCode(h.connect('d', { protocolVersion: 4 }, listener).connack), 0x03);
    assert.equal(h.core.stats.connectionsRefused, 2);
    assert.equal(connackCode(h.connect('e').connack), 0, 'another listener has its own count');
    a.client.drop();
    assert.equal(listener.connected, 1);
    assert.equal(connackCode(h.connect('f', {}, listener).connack), 0);
  });
});

describe('anonymous clients', () => {
  it('a listener without anonymous access and no credential source refuses 0x87 (v5) / 0x05 (v3)', () => {
    const h = new CoreHarness();
    const closed = listenerPolicy('mqtt://test:2', { allowAnonymous: false });
    const v5 = h.connect('a', { username: 'alice', password: Buffer.from('x') }, closed);
    assert.equal(connackCode(v5.connack), 0x87);
    assert.equal(v5.client.channel.closed, true);
    assert.equal(connackCode(h.connect('b', { protocolVersion: 4 }, closed).connack), 0x05);
  });
});

describe('retain_available false', () => {
  it('tells v5 clients, refuses a retained PUBLISH with 0x9A and a retained will at CONNECT', () => {
    const h = new CoreHarness({ retainAvailable: false });
    const { client, connack } = h.connect('a');
    assert.equal(connack.type === 'connack' && connack.properties?.retainAvailable, 0);
    client.publish('t', 'x', 0, { retain: true });
    const [disconnect] = client.received();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x9a);
    assert.equal(h.core.retained.size, 0);
    const will = { topic: 'w', payload: Buffer.from('bye'), qos: 0 as const, retain: true };
    assert.equal(connackCode(h.connect('b', { will }).connack), 0x9a);
    assert.equal(connackCode(h.connect('c', { will: { ...will, retain: false } }).connack), 0);
  });
});

describe('maximum topic levels', () => {
  const deep = (levels: number) => Array.from({ length: levels }, (_, i) => `l${i}`).join('/');

  it("by default takes mosquitto's depth: 200 separators (201 levels) routed, 202 levels refused", () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', '#');
    const pub = h.connect('pub').client;
    pub.publish(deep(201), 'as deep as mosquitto takes');
    assert.equal(sub.publishes().length, 1);
    pub.publish(deep(202), 'too deep');
    const [disconnect] = pub.received();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x90);
  });

  it('routes a topic at the limit and disconnects a publisher over it with 0x90', () => {
    const h = new CoreHarness({ maxTopicLevels: 8 });
    const sub = h.subscriber('sub', '#');
    const pub = h.connect('pub').client;
    pub.publish(deep(8), 'ok');
    assert.equal(sub.publishes().length, 1);
    pub.publish(deep(9), 'too deep');
    const [disconnect] = pub.received();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x90);
    assert.deepEqual(sub.publishes(), []);
  });

  it('refuses a filter over the limit in SUBACK (v5 0x8F, v3 0x80), granting the others', () => {
    const h = new CoreHarness({ maxTopicLevels: 8 });
    for (const [version, refused] of [
      [5, 0x8f],
      [4, 0x80],
    ] as const) {
      const { client } = h.connect(`c${version}`, { protocolVersion: version });
      client.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: [deep(9), `${deep(7)}/#`].map((topicFilter) => ({
          topicFilter,
          qos: 1 as const,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0 as const,
        })),
      });
      const [suback] = client.received();
      assert.deepEqual(suback?.type === 'suback' && suback.reasonCodes, [refused, 1]);
    }
  });
});

describe('slow consumers', () => {
  it('maxQueuedBytes bounds the queue by payload bytes, checked before each message as mosquitto does', () => {
    const h = new CoreHarness({ maxInflight: 1, maxQueuedMessages: 100, maxQueuedBytes: 10 });
    const slow = h.subscriber('slow', 't', 1);
    const pub = h.connect('pub').client;
    for (let i = 1; i <= 6; i++) pub.publish('t', `m-${i}`, 1, { packetId: i });
    assert.equal(slow.publishes().length, 1, 'one in flight');
    const session = h.core.sessions.get('slow')!;
    assert.equal(session.queue.length, 4, 'queued at 0, 3, 6 and 9 bytes, each below 10');
    assert.equal(session.queue.bytes, 12, 'the last one in took it past the bound');
    assert.equal(h.core.stats.messagesDroppedQueueFull, 1, 'the sixth, at 12 bytes, dropped');
  });

  it('drops QoS 0 for a congested subscriber and counts it; QoS 1 waits in the bounded queue', () => {
    const h = new CoreHarness({ maxInflight: 1, maxQueuedMessages: 2 });
    const slow = h.subscriber('slow', 't', 1);
    const pub = h.connect('pub').client;
    slow.channel.congested = true;
    pub.publish('t', 'q0');
    assert.equal(h.core.stats.messagesDroppedSlowConsumer, 1);
    for (let i = 1; i <= 4; i++) pub.publish('t', `q1-${i}`, 1, { packetId: i });
    assert.deepEqual(
      slow.publishes().map((p) => p.payload.toString()),
      ['q1-1'],
      'one in flight',
    );
    assert.equal(h.core.stats.messagesDroppedQueueFull, 1, 'two queued, the fourth dropped');
    slow.channel.congested = false;
    pub.publish('t', 'q0 again');
    assert.equal(slow.publishes().length, 1);
  });
});

describe('counters', () => {
  it('counts packets, PUBLISHes and connected clients as $SYS reports them', () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', 't');
    const pub = h.connect('pub').client;
    pub.publish('t', 'x');
    const s = h.core.stats;
    assert.equal(s.clientsConnected, 2);
    assert.equal(s.clientsMaximum, 2);
    assert.equal(s.packetsReceived, 4, 'CONNECT x2, SUBSCRIBE, PUBLISH');
    assert.equal(s.packetsSent, 4, 'CONNACK x2, SUBACK, PUBLISH');
    assert.equal(s.publishReceived, 1);
    assert.equal(s.publishSent, 1);
    sub.drop();
    assert.equal(s.clientsConnected, 1);
    assert.equal(s.clientsMaximum, 2);
  });
});
