// Shared subscriptions ($share/<group>/<filter>, MQTT 5.0 4.8.2) through the core.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreHarness } from '../support/core-harness.js';

describe('shared subscriptions', () => {
  it('spreads messages among the members of a group, one member per message', () => {
    const h = new CoreHarness();
    const a = h.subscriber('a', '$share/workers/jobs/#', 1);
    const b = h.subscriber('b', '$share/workers/jobs/#', 1);
    const pub = h.connect('pub').client;
    for (let i = 1; i <= 4; i++) pub.publish('jobs/x', `j${i}`, 1, { packetId: i });
    const gotA = a.publishes().map((p) => p.payload.toString());
    const gotB = b.publishes().map((p) => p.payload.toString());
    assert.equal(gotA.length, 2);
    assert.equal(gotB.length, 2);
    assert.deepEqual([...gotA, ...gotB].sort(), ['j1', 'j2', 'j3', 'j4']);
  });

  it('each group gets its own copy, and a plain subscription gets one too', () => {
    const h = new CoreHarness();
    const g1 = h.subscriber('g1', '$share/one/t', 0);
    const g2 = h.subscriber('g2', '$share/two/t', 0);
    const plain = h.subscriber('plain', 't', 0);
    h.connect('pub').client.publish('t', 'x');
    assert.equal(g1.publishes().length, 1);
    assert.equal(g2.publishes().length, 1);
    assert.equal(plain.publishes().length, 1);
  });

  it('prefers connected members; a member that leaves the group gets nothing more', () => {
    const h = new CoreHarness();
    const persistent = { properties: { sessionExpiryInterval: 60 } };
    const away = h.subscriber('away', '$share/g/t', 1, persistent);
    away.drop();
    const here = h.subscriber('here', '$share/g/t', 1);
    const pub = h.connect('pub').client;
    pub.publish('t', 'a', 1, { packetId: 1 });
    pub.publish('t', 'b', 1, { packetId: 2 });
    assert.equal(here.publishes().length, 2);
    assert.equal(h.core.sessions.get('away')!.queue.length, 0);
    here.send({ type: 'unsubscribe', packetId: 9, topicFilters: ['$share/g/t'] });
    assert.deepEqual(here.received(), [{ type: 'unsuback', packetId: 9, reasonCodes: [0] }]);
    pub.publish('t', 'c', 1, { packetId: 3 });
    assert.equal(here.publishes().length, 0);
    assert.equal(h.core.sessions.get('away')!.queue.length, 1, 'the only member left, though away, keeps it');
  });

  it('sends no retained messages for a new shared subscription', () => {
    const h = new CoreHarness();
    h.connect('pub').client.publish('t', 'kept', 0, { retain: true });
    const member = h.subscriber('m', '$share/g/t', 0);
    assert.deepEqual(member.publishes(), []);
  });

  it('treats No Local on a shared subscription as a protocol error', () => {
    const h = new CoreHarness();
    const { client } = h.connect('c');
    client.subscribe('$share/g/t', 0, { noLocal: true });
    const [disconnect] = client.received();
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x82);
  });

  it('the group disappears with its last member', () => {
    const h = new CoreHarness();
    const { client } = h.connect('only');
    client.subscribe('$share/g/t', 0);
    client.drop();
    assert.equal(h.core.router.groups.size, 0);
    assert.equal(h.core.router.tree.size, 0);
  });
});
