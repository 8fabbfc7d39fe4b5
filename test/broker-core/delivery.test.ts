// Delivery rules through the core: QoS flows both ways, exactly once, redelivery with DUP,
// retained messages and retain handling, overlapping subscriptions, no-local, message expiry.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreHarness } from '../support/core-harness.js';

describe('QoS flows', () => {
  it('QoS 1 in: PUBACK (v5 0x10 when no one subscribed); QoS 1 out: waits for PUBACK', () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', 't', 1);
    const pub = h.connect('pub').client;
    pub.publish('nobody', 'x', 1, { packetId: 5 });
    assert.deepEqual(pub.received(), [{ type: 'puback', packetId: 5, reasonCode: 0x10 }]);
    pub.publish('t', 'x', 1, { packetId: 6 });
    assert.deepEqual(pub.received(), [{ type: 'puback', packetId: 6, reasonCode: undefined }]);
    const [out] = sub.publishes();
    assert.equal(out?.qos, 1);
    assert.ok(h.core.sessions.get('sub')!.outbound.has(out!.packetId!));
    sub.send({ type: 'puback', packetId: out!.packetId! });
    assert.equal(h.core.sessions.get('sub')!.outbound.size, 0);
  });

  it('QoS 2 in is delivered exactly once, even when resent before PUBREL [MQTT-4.3.3-10]', () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', 't', 2);
    const pub = h.connect('pub').client;
    pub.publish('t', 'once', 2, { packetId: 9 });
    pub.publish('t', 'once', 2, { packetId: 9, dup: true });
    assert.deepEqual(
      pub.received().map((p) => p.type),
      ['pubrec', 'pubrec'],
    );
    assert.equal(sub.publishes().length, 1);
    pub.send({ type: 'pubrel', packetId: 9 });
    assert.deepEqual(pub.received(), [{ type: 'pubcomp', packetId: 9, reasonCode: undefined }]);
    pub.publish('t', 'again', 2, { packetId: 9 });
    assert.equal(sub.publishes().length, 1, 'after PUBREL the id is free: a new message');
  });

  it('QoS 2 out: PUBREC -> PUBREL -> PUBCOMP; PUBREL for an unknown id gets 0x92 on v5', () => {
    const h = new CoreHarness();
    const sub = h.subscriber('sub', 't', 2);
    h.connect('pub').client.publish('t', 'x', 2);
    const [out] = sub.publishes();
    sub.send({ type: 'pubrec', packetId: out!.packetId! });
    assert.deepEqual(sub.received(), [{ type: 'pubrel', packetId: out!.packetId!, reasonCode: undefined }]);
    sub.send({ type: 'pubcomp', packetId: out!.packetId! });
    assert.equal(h.core.sessions.get('sub')!.outbound.size, 0);
    sub.send({ type: 'pubrel', packetId: 777 });
    assert.deepEqual(sub.received(), [{ type: 'pubcomp', packetId: 777, reasonCode: 0x92 }]);
  });

  it('resends unacknowledged messages with DUP on reconnect, and PUBREL for those past PUBREC', () => {
    const h = new CoreHarness();
    const persistent = { properties: { sessionExpiryInterval: 60 } };
    const sub = h.connect('sub', persistent).client;
    sub.subscribe('t', 2);
    sub.received();
    const pub = h.connect('pub').client;
    pub.publish('t', 'first', 1, { packetId: 1 });
    pub.publish('t', 'second', 2, { packetId: 2 });
    const [first, second] = sub.publishes();
    sub.send({ type: 'pubrec', packetId: second!.packetId! });
    sub.received();
    sub.drop();
    const back = h.connect('sub', { clean: false, ...persistent }).client;
    const resent = back.received();
    assert.deepEqual(
      resent.map((p) => [
        p.type,
        'packetId' in p ? p.packetId : undefined,
        p.type === 'publish' ? p.dup : undefined,
      ]),
      [
        ['publish', first!.packetId, true],
        ['pubrel', second!.packetId, undefined],
      ],
    );
  });

  it('delivers at the lower of published and granted QoS, and grants at most the configured maximum', () => {
    const h = new CoreHarness({ maxQos: 1 });
    const sub = h.connect('sub').client;
    sub.subscribe('t', 2);
    assert.deepEqual(sub.received(), [{ type: 'suback', packetId: 1, reasonCodes: [1] }]);
    const pub = h.connect('pub').client;
    pub.publish('t', 'q0', 0);
    pub.publish('t', 'q2', 2);
    assert.deepEqual(
      sub.publishes().map((p) => p.qos),
      [0, 1],
    );
  });
});

describe('retained messages', () => {
  it('set, replace, and delete with an empty payload; sent to new subscribers with retain set', () => {
    const h = new CoreHarness();
    const pub = h.connect('pub').client;
    pub.publish('r', 'one', 0, { retain: true });
    pub.publish('r', 'two', 0, { retain: true });
    const a = h.connect('a').client;
    a.subscribe('r');
    const [got] = a.publishes();
    assert.equal(got?.payload.toString(), 'two');
    assert.equal(got?.retain, true);
    pub.publish('r', '', 0, { retain: true });
    const b = h.connect('b').client;
    b.subscribe('r');
    assert.deepEqual(b.publishes(), []);
  });

  it('clears retain on normal delivery unless retain-as-published [MQTT-3.3.1-12]', () => {
    const h = new CoreHarness();
    const plain = h.connect('plain').client;
    plain.subscribe('r');
    const rap = h.connect('rap').client;
    rap.subscribe('r', 0, { retainAsPublished: true });
    plain.received();
    rap.received();
    h.connect('pub').client.publish('r', 'x', 0, { retain: true });
    assert.equal(plain.publishes()[0]?.retain, false);
    assert.equal(rap.publishes()[0]?.retain, true);
  });

  it('retain handling 0 sends always, 1 only for a new subscription, 2 never', () => {
    const h = new CoreHarness();
    h.connect('pub').client.publish('r', 'x', 0, { retain: true });
    const c = h.connect('c').client;
    for (const [handling, expected] of [
      [1, 1],
      [1, 0],
      [0, 1],
      [2, 0],
    ] as const) {
      c.subscribe('r', 0, { retainHandling: handling });
      assert.equal(c.publishes().length, expected, `retain handling ${handling}`);
    }
  });
});

describe('subscriptions', () => {
  it('overlapping subscriptions: one delivery at the highest QoS with every subscription identifier', () => {
    const h = new CoreHarness();
    const sub = h.connect('sub').client;
    sub.subscribe('a/+', 0, { properties: { subscriptionIdentifiers: [1] } });
    sub.subscribe('a/#', 1, { properties: { subscriptionIdentifiers: [2] }, packetId: 2 });
    sub.received();
    h.connect('pub').client.publish('a/b', 'x', 1);
    const got = sub.publishes();
    assert.equal(got.length, 1);
    assert.equal(got[0]?.qos, 1);
    assert.deepEqual([...(got[0]?.properties?.subscriptionIdentifiers ?? [])].sort(), [1, 2]);
  });

  it('no-local: a client does not get its own messages on that subscription [MQTT-3.8.3-3]', () => {
    const h = new CoreHarness();
    const c = h.connect('c').client;
    c.subscribe('t', 0, { noLocal: true });
    c.received();
    c.publish('t', 'mine');
    assert.deepEqual(c.publishes(), []);
    h.connect('other').client.publish('t', 'theirs');
    assert.equal(c.publishes()[0]?.payload.toString(), 'theirs');
  });

  it('refuses invalid filters per filter (v5 0x8F, v3 0x80) and unsubscribes with reason codes', () => {
    const h = new CoreHarness();
    const v5 = h.connect('v5').client;
    v5.send({
      type: 'subscribe',
      packetId: 3,
      subscriptions: ['ok/#', 'bad/#/x'].map((topicFilter) => ({
        topicFilter,
        qos: 1 as const,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      })),
    });
    assert.deepEqual(v5.received(), [{ type: 'suback', packetId: 3, reasonCodes: [1, 0x8f] }]);
    v5.send({ type: 'unsubscribe', packetId: 4, topicFilters: ['ok/#', 'never'] });
    assert.deepEqual(v5.received(), [{ type: 'unsuback', packetId: 4, reasonCodes: [0x00, 0x11] }]);
    const v3 = h.connect('v3', { protocolVersion: 4 }).client;
    v3.subscribe('a+');
    assert.deepEqual(v3.received(), [{ type: 'suback', packetId: 1, reasonCodes: [0x80] }]);
  });

  it('does not match $-topics with a leading wildcard [MQTT-4.7.2-1]', () => {
    const h = new CoreHarness();
    const all = h.subscriber('all', '#');
    h.connect('pub').client.publish('$SYS/x', 'x');
    assert.deepEqual(all.publishes(), []);
  });
});

describe('message expiry', () => {
  it('counts the interval down for queued messages and drops expired ones [MQTT-3.3.2-5]', () => {
    const h = new CoreHarness();
    const persistent = { properties: { sessionExpiryInterval: 600 } };
    const sub = h.connect('sub', persistent).client;
    sub.subscribe('t', 1);
    sub.drop();
    const pub = h.connect('pub').client;
    pub.publish('t', 'short', 1, { packetId: 1, properties: { messageExpiryInterval: 10 } });
    pub.publish('t', 'long', 1, { packetId: 2, properties: { messageExpiryInterval: 100 } });
    h.clock.advance(30_000);
    const back = h.connect('sub', { clean: false, ...persistent }).client;
    const got = back.publishes();
    assert.deepEqual(
      got.map((p) => p.payload.toString()),
      ['long'],
    );
    assert.equal(got[0]?.properties?.messageExpiryInterval, 70);
  });

  it('drops an expired retained message', () => {
    const h = new CoreHarness();
    h.connect('pub').client.publish('r', 'x', 0, { retain: true, properties: { messageExpiryInterval: 5 } });
    h.clock.advance(2_000);
    const early = h.connect('early').client;
    early.subscribe('r');
    assert.equal(early.publishes()[0]?.properties?.messageExpiryInterval, 3);
    h.clock.advance(3_000);
    const late = h.connect('late').client;
    late.subscribe('r');
    assert.deepEqual(late.publishes(), []);
    assert.equal(h.core.retained.size, 0);
  });
});
