// $SYS/broker/... topics on the core's clock: Mosquitto's names, retained, refreshed each
// interval with only the values that changed, and never matched by a plain "#".

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSysTopics } from '../../src/broker/observability/sys-topics.js';
import { CoreHarness } from '../support/core-harness.js';

const values = (packets: Array<{ topic: string; payload: Buffer }>) =>
  new Map(packets.map((p) => [p.topic, p.payload.toString()]));

describe('$SYS topics', () => {
  it('publishes the broker state retained with Mosquitto names, then only what changed', () => {
    const h = new CoreHarness();
    const all = h.subscriber('all', '#');
    const stop = startSysTopics(h.core, {
      intervalSeconds: 10,
      version: 'warden version 9.9',
      heapBytes: () => 1234,
    });
    assert.deepEqual(all.publishes(), [], '"#" does not match $SYS topics [MQTT-4.7.2-1]');

    const sys = h.connect('sys').client;
    sys.subscribe('$SYS/#');
    const first = values(sys.publishes());
    assert.equal(first.get('$SYS/broker/version'), 'warden version 9.9');
    assert.equal(first.get('$SYS/broker/uptime'), '0 seconds');
    assert.equal(
      first.get('$SYS/broker/clients/connected'),
      '1',
      'retained from the round before "sys" came',
    );
    assert.equal(first.get('$SYS/broker/heap/current'), '1234');
    for (const name of [
      'clients/total',
      'clients/maximum',
      'clients/disconnected',
      'messages/received',
      'messages/sent',
      'publish/messages/received',
      'publish/messages/sent',
      'publish/messages/dropped',
      'bytes/received',
      'bytes/sent',
      'subscriptions/count',
      'retained messages/count',
      'store/messages/count',
    ])
      assert.ok(first.has(`$SYS/broker/${name}`), name);

    const pub = h.connect('pub', { clean: false, protocolVersion: 4 }).client;
    pub.publish('keep', 'me', 0, { retain: true });
    pub.drop();
    h.clock.advance(10_000);
    const second = values(sys.publishes());
    assert.equal(second.get('$SYS/broker/uptime'), '10 seconds');
    assert.equal(second.get('$SYS/broker/clients/connected'), '2', 'all and sys');
    assert.equal(second.get('$SYS/broker/clients/maximum'), '3');
    assert.equal(second.get('$SYS/broker/clients/disconnected'), '1', 'the persistent session of pub');
    assert.equal(second.get('$SYS/broker/subscriptions/count'), '2');
    assert.equal(second.has('$SYS/broker/heap/current'), false, 'unchanged values are not sent again');
    assert.equal(second.has('$SYS/broker/version'), false);

    stop();
    h.clock.advance(60_000);
    assert.deepEqual(sys.publishes(), [], 'stopped');
  });

  it('interval 0 publishes nothing', () => {
    const h = new CoreHarness();
    const sys = h.subscriber('sys', '$SYS/#');
    startSysTopics(h.core, { intervalSeconds: 0, version: 'v', heapBytes: () => 0 });
    h.clock.advance(60_000);
    assert.deepEqual(sys.publishes(), []);
  });
});
