// The pure client session: what it sends again after a reconnect, with and without the broker's
// session; the in-flight window; QoS 2 received once; outbound topic aliases.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/client/client-session.js';

const message = (topic: string, qos: 0 | 1 | 2) => ({
  topic,
  payload: Buffer.from(topic),
  qos,
  retain: false,
});

describe('ClientSession', () => {
  it('queues while offline and sends within the broker Receive Maximum; acks release the window', () => {
    const session = new ClientSession({ version: 5, maxInflight: 10, queueLimit: 10 });
    const ids = [1, 2, 3].map((i) => session.publish(message(`t/${i}`, 1)).packetId!);
    assert.equal(session.queued, 3);
    const first = session.connected(false, { receiveMaximum: 2 });
    assert.deepEqual(
      first.map((p) => p.type === 'publish' && p.packetId),
      ids.slice(0, 2),
    );
    const step = session.acknowledged({ type: 'puback', packetId: ids[0]! });
    assert.deepEqual(step.completed, { packetId: ids[0], reasonCode: 0, ack: 'puback' });
    assert.deepEqual(
      step.send.map((p) => p.type === 'publish' && p.packetId),
      [ids[2]],
    );
  });

  it('after a reconnect: DUP PUBLISH and PUBREL with the session present, fresh PUBLISH without', () => {
    const session = new ClientSession({ version: 4, maxInflight: 10, queueLimit: 10 });
    session.connected(false, undefined);
    const a = session.publish(message('a', 1)).packetId!;
    const b = session.publish(message('b', 2)).packetId!;
    assert.deepEqual(session.acknowledged({ type: 'pubrec', packetId: b }).send, [
      { type: 'pubrel', packetId: b },
    ]);
    session.disconnected();
    const kept = session.connected(true, undefined);
    assert.deepEqual(
      kept.map((p) => [p.type, 'packetId' in p && p.packetId, p.type === 'publish' && p.dup]),
      [
        ['publish', a, true],
        ['pubrel', b, false],
      ],
    );
    session.disconnected();
    const lost = session.connected(false, undefined);
    assert.equal(lost[0]?.type === 'publish' && lost[0].dup, false);
    const done = session.acknowledged({ type: 'pubcomp', packetId: b });
    assert.equal(done.completed?.ack, 'pubcomp');
    assert.equal(session.pending, 1);
  });

  it('delivers an incoming QoS 2 message once, however often it is resent before PUBREL', () => {
    const session = new ClientSession({ version: 5, maxInflight: 10, queueLimit: 10 });
    const publish = {
      type: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 9,
    } as const;
    assert.equal(session.received(publish).deliver, true);
    assert.equal(session.received({ ...publish, dup: true }).deliver, false);
    assert.deepEqual(session.released(9), [{ type: 'pubcomp', packetId: 9 }]);
    assert.equal(session.received(publish).deliver, true, 'a new message may reuse the id');
  });

  it('uses topic aliases up to the broker maximum: the topic once, then the alias alone', () => {
    const session = new ClientSession({ version: 5, maxInflight: 10, queueLimit: 10 });
    session.connected(false, { topicAliasMaximum: 1 });
    const [first] = session.publish(message('sensors/long/topic', 0)).send;
    const [second] = session.publish(message('sensors/long/topic', 0)).send;
    const [other] = session.publish(message('other', 0)).send;
    assert.ok(first?.type === 'publish' && second?.type === 'publish' && other?.type === 'publish');
    assert.deepEqual([first.topic, first.properties?.topicAlias], ['sensors/long/topic', 1]);
    assert.deepEqual([second.topic, second.properties?.topicAlias], ['', 1]);
    assert.deepEqual([other.topic, other.properties?.topicAlias], ['other', undefined]);
  });
});
