// v5 flow control and negotiated limits through the core: Receive Maximum both ways, the
// client's Maximum Packet Size, topic aliases both ways, keep alive override, bounded queues.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreHarness } from '../support/core-harness.js';

describe('in-flight windows', () => {
  it('sends no more unacknowledged QoS 1 messages than the client Receive Maximum; the rest follow acks', () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', 't', 1, { properties: { receiveMaximum: 2 } });
    const pub = h.connect('pub').client;
    for (let i = 1; i <= 3; i++) pub.publish('t', `m${i}`, 1, { packetId: i });
    const first = sub.publishes();
    assert.deepEqual(
      first.map((p) => p.payload.toString()),
      ['m1', 'm2'],
    );
    sub.send({ type: 'puback', packetId: first[0]!.packetId! });
    assert.deepEqual(
      sub.publishes().map((p) => p.payload.toString()),
      ['m3'],
    );
  });

  it('caps the window at our max in-flight even when the client allows more', () => {
    const h = new CoreHarness({ maxInflight: 1 });
    const sub = h.subscriber('sub', 't', 2);
    const pub = h.connect('pub').client;
    pub.publish('t', 'a', 2, { packetId: 1 });
    pub.publish('t', 'b', 2, { packetId: 2 });
    const [a] = sub.publishes();
    assert.equal(a?.payload.toString(), 'a');
    sub.send({ type: 'pubrec', packetId: a!.packetId! });
    assert.deepEqual(sub.publishes(), [], 'a QoS 2 message holds its place until PUBCOMP');
    sub.send({ type: 'pubcomp', packetId: a!.packetId! });
    assert.equal(sub.publishes()[0]?.payload.toString(), 'b');
  });

  it('disconnects with 0x93 a client with more QoS 2 messages awaiting PUBREL than our Receive Maximum', () => {
    const h = new CoreHarness({ receiveMaximum: 2 });
    const { client, connack } = h.connect('pub');
    assert.equal(connack.type === 'connack' && connack.properties?.receiveMaximum, 2);
    client.publish('t', 'a', 2, { packetId: 1 });
    client.publish('t', 'b', 2, { packetId: 2 });
    client.publish('t', 'a', 2, { packetId: 1, dup: true });
    assert.deepEqual(
      client.received().map((p) => p.type),
      ['pubrec', 'pubrec', 'pubrec'],
    );
    client.publish('t', 'c', 2, { packetId: 3 });
    const [disconnect] = client.received();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x93);
  });
});

describe('Maximum Packet Size', () => {
  it('never sends a client a packet larger than it accepts; the message is discarded and counted', () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', 't', 1, { properties: { maximumPacketSize: 64 } });
    const pub = h.connect('pub').client;
    pub.publish('t', 'x'.repeat(100), 1, { packetId: 1 });
    pub.publish('t', 'small', 1, { packetId: 2 });
    assert.deepEqual(
      sub.publishes().map((p) => p.payload.toString()),
      ['small'],
    );
    assert.equal(h.core.stats.messagesDroppedTooLarge, 1);
  });

  it('announces our maximum in CONNACK when one is configured', () => {
    const h = new CoreHarness({ maxPacketSize: 4096 });
    const { connack } = h.connect('c');
    assert.equal(connack.type === 'connack' && connack.properties?.maximumPacketSize, 4096);
  });
});

describe('topic aliases', () => {
  it('assigns aliases to what we send while the client allows them', () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', '#', 0, { properties: { topicAliasMaximum: 1 } });
    const pub = h.connect('pub').client;
    pub.publish('sensors/one', '1');
    pub.publish('sensors/one', '2');
    pub.publish('sensors/two', '3');
    const got = sub.publishes().map((p) => [p.topic, p.properties?.topicAlias]);
    assert.deepEqual(got, [
      ['sensors/one', 1],
      ['', 1],
      ['sensors/two', undefined],
    ]);
  });

  it('resolves the aliases a client sets, and refuses unknown or out-of-range ones', () => {
    const h = new CoreHarness({ topicAliasMaximum: 2 });
    const sub = h.subscriber('sub', '#');
    const { client: pub, connack } = h.connect('pub');
    assert.equal(connack.type === 'connack' && connack.properties?.topicAliasMaximum, 2);
    pub.publish('long/topic/name', 'a', 0, { properties: { topicAlias: 2 } });
    pub.publish('', 'b', 0, { properties: { topicAlias: 2 } });
    assert.deepEqual(
      sub.publishes().map((p) => [p.topic, p.payload.toString(), p.properties?.topicAlias]),
      [
        ['long/topic/name', 'a', undefined],
        ['long/topic/name', 'b', undefined],
      ],
    );
    pub.publish('', 'c', 0, { properties: { topicAlias: 1 } });
    const [unknown] = pub.received();
    assert.equal(unknown?.type === 'disconnect' && unknown.reasonCode, 0x82);
    const other = h.connect('other').client;
    other.publish('x', 'd', 0, { properties: { topicAlias: 3 } });
    const [refusal] = other.received();
    assert.equal(refusal?.type === 'disconnect' && refusal.reasonCode, 0x94);
  });
});

describe('keep alive', () => {
  it('tells a v5 client the server keep alive when it asked for more or for none', () => {
    const h = new CoreHarness({ maxKeepAlive: 30 });
    for (const keepAlive of [60, 0]) {
      const { connack } = h.connect(`c${keepAlive}`, { keepAlive });
      assert.equal(connack.type === 'connack' && connack.properties?.serverKeepAlive, 30);
    }
    const { connack } = h.connect('fine', { keepAlive: 20 });
    assert.equal(connack.type === 'connack' && connack.properties?.serverKeepAlive, undefined);
  });

  it('refuses a 3.1.1 client asking for more than the maximum, as Mosquitto does (0x02)', () => {
    const h = new CoreHarness({ maxKeepAlive: 30 });
    const { connack } = h.connect('v3', { protocolVersion: 4, keepAlive: 60 });
    assert.equal(connack.type === 'connack' && connack.reasonCode, 0x02);
  });

  it('enforces the server keep alive, not the client one', () => {
    const h = new CoreHarness({ maxKeepAlive: 10 });
    const { client } = h.connect('c', { keepAlive: 600 });
    h.clock.advance(15_000);
    assert.equal(client.channel.closed, true);
  });
});

describe('queues', () => {
  it('keeps at most max queued messages for an absent client; the rest are dropped and counted', () => {
    const h = new CoreHarness({ maxQueuedMessages: 2 });
    const persistent = { properties: { sessionExpiryInterval: 60 } };
    const sub = h.connect('sub', persistent).client;
    sub.subscribe('t', 1);
    sub.drop();
    const pub = h.connect('pub').client;
    for (let i = 1; i <= 3; i++) pub.publish('t', `m${i}`, 1, { packetId: i });
    assert.equal(h.core.stats.messagesDroppedQueueFull, 1);
    const back = h.connect('sub', { clean: false, ...persistent }).client;
    assert.deepEqual(
      back.publishes().map((p) => p.payload.toString()),
      ['m1', 'm2'],
    );
  });
});
