// Sessions and wills through the core with a manual clock: clean start, session present,
// Session Expiry Interval, takeover, will on abnormal close, Will Delay Interval.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreHarness, TestClient } from '../support/core-harness.js';

const will = (topic: string, willDelayInterval?: number) => ({
  topic,
  payload: Buffer.from('gone'),
  qos: 1 as const,
  retain: false,
  properties: willDelayInterval === undefined ? undefined : { willDelayInterval },
});

describe('sessions', () => {
  it('a persistent session keeps its subscriptions, says so, and gets what was queued while away', () => {
    const h = new CoreHarness();
    const { client } = h.connect('device', { clean: true, properties: { sessionExpiryInterval: 60 } });
    client.subscribe('a/#', 1);
    client.received();
    client.drop();
    const publisher = h.connect('pub').client;
    publisher.publish('a/b', 'while away', 1);
    const { client: back, connack } = h.connect('device', {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal(connack.type === 'connack' && connack.sessionPresent, true);
    const [message] = back.publishes();
    assert.equal(message?.payload.toString(), 'while away');
    assert.equal(message?.qos, 1);
  });

  it('clean start discards the old session [MQTT-3.1.2-4]', () => {
    const h = new CoreHarness();
    const { client } = h.connect('device', { properties: { sessionExpiryInterval: 60 } });
    client.subscribe('a/#', 1);
    client.drop();
    const { client: again, connack } = h.connect('device', { clean: true });
    assert.equal(connack.type === 'connack' && connack.sessionPresent, false);
    h.connect('pub').client.publish('a/b', 'x', 1);
    assert.deepEqual(again.publishes(), []);
  });

  it('expires a session after its Session Expiry Interval, not before', () => {
    const h = new CoreHarness();
    h.connect('device', { properties: { sessionExpiryInterval: 30 } }).client.drop();
    h.clock.advance(29_999);
    assert.ok(h.core.sessions.has('device'));
    h.clock.advance(1);
    assert.ok(!h.core.sessions.has('device'));
  });

  it('ends a session with its connection when the interval is 0 (v5 default)', () => {
    const h = new CoreHarness();
    h.connect('device').client.drop();
    assert.ok(!h.core.sessions.has('device'));
  });

  it('keeps a 3.1.1 persistent session (clean session 0) with no expiry', () => {
    const h = new CoreHarness();
    h.connect('device', { protocolVersion: 4, clean: false }).client.drop();
    h.clock.advance(365 * 86_400_000);
    assert.ok(h.core.sessions.has('device'));
  });

  it('a DISCONNECT may shorten the interval, but not lift it from 0 [MQTT-3.14.2-2]', () => {
    const h = new CoreHarness();
    const a = h.connect('a', { properties: { sessionExpiryInterval: 60 } }).client;
    a.send({ type: 'disconnect', properties: { sessionExpiryInterval: 0 } });
    assert.ok(!h.core.sessions.has('a'));
    const b = h.connect('b').client;
    b.send({ type: 'disconnect', properties: { sessionExpiryInterval: 60 } });
    const [disconnect] = b.received();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x82);
  });

  it('a second connection with the same client id takes over: the first gets DISCONNECT 0x8E', () => {
    const h = new CoreHarness();
    const first = h.connect('device', { properties: { sessionExpiryInterval: 60 } }).client;
    const { connack } = h.connect('device', { clean: false });
    const [disconnect] = first.received();
    assert.equal(disconnect?.type, 'disconnect');
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x8e);
    assert.equal(first.channel.closed, true);
    assert.equal(connack.type === 'connack' && connack.sessionPresent, true);
  });

  it('closes a connection that sends no CONNECT within the connect timeout', () => {
    const h = new CoreHarness({ connectTimeoutMs: 5000 });
    const silent = new TestClient(h.core);
    h.clock.advance(4999);
    assert.equal(silent.channel.closed, false);
    h.clock.advance(1);
    assert.equal(silent.channel.closed, true);
  });

  it('closes a client silent for 1.5 times its keep alive [MQTT-3.1.2-24], with DISCONNECT 0x8D on v5', () => {
    const h = new CoreHarness();
    const { client } = h.connect('device', { keepAlive: 10 });
    h.clock.advance(14_000);
    client.send({ type: 'pingreq' });
    assert.deepEqual(client.received(), [{ type: 'pingresp' }]);
    h.clock.advance(14_999);
    assert.equal(client.channel.closed, false);
    h.clock.advance(1);
    const [disconnect] = client.received();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x8d);
    assert.equal(client.channel.closed, true);
  });
});

describe('wills', () => {
  const watcher = (h: CoreHarness) => {
    const { client } = h.connect('watcher');
    client.subscribe('status/#', 1);
    client.received();
    return client;
  };

  it('publishes the will when the connection drops', () => {
    const h = new CoreHarness();
    const w = watcher(h);
    h.connect('device', { will: will('status/device') }).client.drop();
    assert.equal(w.publishes()[0]?.payload.toString(), 'gone');
  });

  it('discards the will on DISCONNECT 0x00 [MQTT-3.14.4-3], and sends it on 0x04', () => {
    const h = new CoreHarness();
    const w = watcher(h);
    h.connect('a', { will: will('status/a') }).client.send({ type: 'disconnect' });
    assert.deepEqual(w.publishes(), []);
    h.connect('b', { will: will('status/b') }).client.send({ type: 'disconnect', reasonCode: 0x04 });
    assert.equal(w.publishes()[0]?.topic, 'status/b');
  });

  it('waits out the Will Delay Interval, and sends nothing if the client returns in time', () => {
    const h = new CoreHarness();
    const w = watcher(h);
    const expiry = { sessionExpiryInterval: 300 };
    h.connect('device', { will: will('status/device', 10), properties: expiry }).client.drop();
    h.clock.advance(9_999);
    assert.deepEqual(w.publishes(), []);
    h.clock.advance(1);
    const [sent] = w.publishes();
    assert.equal(sent?.topic, 'status/device');
    assert.equal(sent?.properties?.willDelayInterval, undefined, 'the will delay is not forwarded');

    h.connect('device2', { will: will('status/device2', 10), properties: expiry }).client.drop();
    h.clock.advance(5_000);
    h.connect('device2', { clean: false, properties: expiry });
    h.clock.advance(60_000);
    assert.deepEqual(w.publishes(), [], 'returned within the delay: no will');
  });

  it('publishes a delayed will when the session ends first', () => {
    const h = new CoreHarness();
    const w = watcher(h);
    h.connect('device', {
      will: will('status/device', 120),
      properties: { sessionExpiryInterval: 30 },
    }).client.drop();
    h.clock.advance(29_999);
    assert.deepEqual(w.publishes(), []);
    h.clock.advance(1);
    assert.equal(w.publishes()[0]?.topic, 'status/device');
  });

  it('publishes a delayed will at once when the session ends with the connection', () => {
    const h = new CoreHarness();
    const w = watcher(h);
    h.connect('device', { will: will('status/device', 120) }).client.drop();
    assert.equal(w.publishes()[0]?.topic, 'status/device');
  });

  it("publishes the old connection's will when it is taken over", () => {
    const h = new CoreHarness();
    const w = watcher(h);
    h.connect('device', { will: will('status/device'), properties: { sessionExpiryInterval: 60 } });
    h.connect('device', { clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(w.publishes()[0]?.topic, 'status/device');
  });
});
