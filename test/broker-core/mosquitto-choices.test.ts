// Where the spec leaves a choice, or a client breaks it, and mosquitto's answer is the one a
// device copes with: a protocol violation closes the connection instead of answering with a code
// that reads as "try again later".

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenerPolicy } from '../../src/broker/core/listener-policy.js';
import { ReasonCode } from '../../src/protocol/index.js';
import { CoreHarness, connectPacket, TestClient } from '../support/core-harness.js';

const emptyTopicWill = { topic: '', payload: Buffer.from('x'), qos: 0 as const, retain: false };

describe('protocol choices as mosquitto makes them', () => {
  it('a will with an empty topic closes a 3.1.1 connection with no CONNACK; v5 gets 0x90', () => {
    const h = new CoreHarness();
    const v3 = new TestClient(h.core);
    v3.send(connectPacket('d3', { protocolVersion: 4, will: emptyTopicWill }));
    assert.deepEqual(v3.received(), [], 'no CONNACK 0x03 "server unavailable"');
    assert.equal(v3.channel.closed, true);
    const v5 = new TestClient(h.core);
    v5.send(connectPacket('d5', { will: emptyTopicWill }));
    assert.deepEqual(
      v5.received().map((p) => p.type === 'connack' && p.reasonCode),
      [ReasonCode.TopicNameInvalid],
    );
  });

  it('a zero-length topic filter in SUBSCRIBE closes the connection [MQTT-4.7.3-1]', () => {
    const h = new CoreHarness();
    for (const protocolVersion of [4, 5] as const) {
      const { client } = h.connect(`s${protocolVersion}`, { protocolVersion });
      client.subscribe('', 1);
      const answer = client.received();
      assert.ok(!answer.some((p) => p.type === 'suback'), 'no SUBACK');
      if (protocolVersion === 5)
        assert.deepEqual(
          answer.map((p) => p.type === 'disconnect' && p.reasonCode),
          [ReasonCode.ProtocolError],
        );
      assert.equal(client.channel.closed, true);
    }
  });

  it('MQTT 3.1 (level 3) gets no Session Present flag, a reserved bit there; 3.1.1 does', () => {
    const h = new CoreHarness();
    for (const protocolVersion of [3, 4] as const) {
      const id = `level${protocolVersion}`;
      h.connect(id, {
        protocolVersion,
        protocolName: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
        clean: false,
      }).client.drop();
      const { connack } = h.connect(id, {
        protocolVersion,
        protocolName: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
        clean: false,
      });
      assert.equal(connack.type === 'connack' && connack.sessionPresent, protocolVersion === 4);
    }
  });

  it('allow_zero_length_clientid false refuses an empty client id (v5 0x85, 3.1.1 0x02) instead of assigning one', () => {
    const h = new CoreHarness({ allowZeroLengthClientId: false });
    const codes = ([5, 4] as const).map((protocolVersion) => {
      const { connack } = h.connect('', { protocolVersion });
      return connack.type === 'connack' && connack.reasonCode;
    });
    assert.deepEqual(codes, [ReasonCode.ClientIdentifierNotValid, 0x02]);
    const assigning = new CoreHarness();
    const { connack } = assigning.connect('', { protocolVersion: 5 });
    assert.equal(connack.type === 'connack' && connack.properties?.assignedClientIdentifier, 'assigned-1');
  });

  it("a CONNACK larger than the client's Maximum Packet Size is not sent: closed, no session opened", () => {
    const h = new CoreHarness();
    // An empty client id: the CONNACK carries the assigned one ("assigned-1", 15 bytes with its header).
    const tight = new TestClient(h.core);
    tight.send(
      connectPacket('', { clean: false, properties: { maximumPacketSize: 12, sessionExpiryInterval: 60 } }),
    );
    assert.deepEqual(tight.received(), []);
    assert.equal(tight.channel.closed, true);
    const roomy = new TestClient(h.core);
    roomy.send(
      connectPacket('', { clean: false, properties: { maximumPacketSize: 64, sessionExpiryInterval: 60 } }),
    );
    const [connack] = roomy.received();
    assert.equal(connack?.type === 'connack' && connack.reasonCode, 0);
    assert.equal(connack?.type === 'connack' && connack.properties?.assignedClientIdentifier, 'assigned-2');
    // The refused attempt (it was to be "assigned-1") opened no session.
    const again = h.connect('assigned-1', { clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(again.connack.type === 'connack' && again.connack.sessionPresent, false);
  });

  it('a message queued before a reload that took the read right away is not delivered', () => {
    const readable = new Set(['t/a', 't/b']);
    const listener = listenerPolicy('memory', {
      authorizer: { authorize: () => 'allow', receiveCheck: () => (topic) => readable.has(topic) },
    });
    const h = new CoreHarness();
    const persistent = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const { client } = h.connect('reader', persistent, listener);
    client.subscribe('t/+', 1);
    client.drop();
    const publisher = h.connect('writer', {}, listener).client;
    publisher.publish('t/a', 'kept', 1, { packetId: 1 });
    publisher.publish('t/b', 'no longer readable', 1, { packetId: 2 });
    readable.delete('t/b'); // the ACL file was reloaded
    const { client: back } = h.connect('reader', persistent, listener);
    assert.deepEqual(
      back.publishes().map((p) => p.topic),
      ['t/a'],
    );
  });
});

describe('mosquitto.conf options that change the core', () => {
  const persistent3 = { protocolVersion: 4 as const, clean: false };

  it('persistent_client_expiration: a 3.1.1 persistent session ends that long after its client left', () => {
    const h = new CoreHarness({ maxSessionExpiry: 3600 });
    h.connect('sensor', persistent3).client.drop();
    h.clock.advance(3600_000 - 1);
    const back = h.connect('sensor', persistent3);
    assert.equal(back.connack.type === 'connack' && back.connack.sessionPresent, true, 'within the hour');
    back.client.drop();
    h.clock.advance(3600_000);
    const late = h.connect('sensor', persistent3);
    assert.equal(late.connack.type === 'connack' && late.connack.sessionPresent, false, 'expired');
    // Without the option such a session is kept for ever.
    const forever = new CoreHarness();
    forever.connect('sensor', persistent3).client.drop();
    forever.clock.advance(10 * 365 * 86_400_000);
    const years = forever.connect('sensor', persistent3);
    assert.equal(years.connack.type === 'connack' && years.connack.sessionPresent, true);
  });

  it('queue_qos0_messages: QoS 0 waits for a disconnected persistent session, counted in the queue limit', () => {
    for (const queueQos0Messages of [false, true]) {
      const h = new CoreHarness({ queueQos0Messages, maxQueuedMessages: 2 });
      h.subscriber('away', 'q/#', 1, persistent3).drop();
      const publisher = h.connect('pub').client;
      for (const n of [1, 2, 3]) publisher.publish('q/t', `m${n}`, 0);
      const { client } = h.connect('away', persistent3);
      const got = client.publishes().map((p) => `${p.payload}@${p.qos}`);
      assert.deepEqual(
        got,
        queueQos0Messages ? ['m1@0', 'm2@0'] : [],
        `queueQos0Messages ${queueQos0Messages}`,
      );
    }
  });

  it('use_username_as_clientid: the user name is the client id; no user name, no entry', () => {
    const h = new CoreHarness();
    const listener = listenerPolicy('memory', { useUsernameAsClientId: true });
    const { connack } = h.connect('any-id', { username: 'alice' }, listener);
    assert.equal(connack.type === 'connack' && connack.properties?.assignedClientIdentifier, 'alice');
    assert.ok(h.core.sessions.has('alice') && !h.core.sessions.has('any-id'));
    const codes = ([5, 4] as const).map((protocolVersion) => {
      const refused = h.connect('bob-device', { protocolVersion }, listener).connack;
      return refused.type === 'connack' && refused.reasonCode;
    });
    assert.deepEqual(codes, [ReasonCode.NotAuthorized, 0x05]);
  });

  it('check_retain_source: a retained message is withheld once its publisher may no longer publish there', () => {
    const writers = new Set(['alice', 'carol']);
    const listener = listenerPolicy('memory', {
      authorizer: {
        authorize: () => 'allow',
        publishCheck: (username) => username !== undefined && writers.has(username),
      },
    });
    for (const checkRetainSource of [true, false]) {
      const h = new CoreHarness({ checkRetainSource });
      const alice = h.connect('a', { username: 'alice' }, listener).client;
      alice.publish('r/alice', 'from alice', 0, { retain: true });
      const carol = h.connect('c', { username: 'carol' }, listener).client;
      carol.publish('r/carol', 'from carol', 0, { retain: true });
      writers.delete('alice'); // the ACL file was reloaded without alice's write right
      const reader = h.connect('reader', { username: 'dave' }, listener).client;
      reader.subscribe('r/#', 0);
      const topics = reader
        .publishes()
        .map((p) => p.topic)
        .sort();
      assert.deepEqual(topics, checkRetainSource ? ['r/carol'] : ['r/alice', 'r/carol']);
      writers.add('alice');
    }
  });
});
