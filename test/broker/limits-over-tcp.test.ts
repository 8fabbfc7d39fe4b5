// Limits over real sockets: max connections answered in CONNACK to MQTT.js, a subscriber that
// stops reading loses QoS 0 messages (counted) while others get everything, and a client that
// stops reading is itself not read from until it drains: broker memory stays bounded.

import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { encodePacket, FrameDecoder, type Packet } from '../../src/protocol/index.js';
import { within } from '../support/processes.js';
import { startTestBroker } from '../support/test-broker.js';

const bounded = { reconnectPeriod: 0, connectTimeout: 5000 } as const;
const brokers: Broker[] = [];
after(() => Promise.all(brokers.map((b) => b.close())));

/** A raw MQTT 5 client: connects, subscribes, and then reads or not as the test says. */
async function rawClient(
  port: number,
  clientId: string,
  subscribe?: string,
  qos: 0 | 1 = 0,
): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1');
  await within(new Promise((resolve) => socket.once('connect', resolve)), 5000, 'tcp connect');
  const decoder = new FrameDecoder({ protocolVersion: 5 });
  const expected = subscribe ? 2 : 1;
  const seen: Packet[] = [];
  const ready = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      seen.push(...decoder.push(chunk));
      if (seen.length >= expected) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  socket.write(
    encodePacket(
      { type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId },
      5,
    ),
  );
  if (subscribe) {
    const options = { qos, noLocal: false, retainAsPublished: false, retainHandling: 0 as const };
    socket.write(
      encodePacket(
        { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: subscribe, ...options }] },
        5,
      ),
    );
  }
  await within(ready, 5000, `${clientId} CONNACK/SUBACK`);
  socket.pause();
  return socket;
}

const publish = (topic: string, payload: Buffer, qos: 0 | 1, packetId?: number) =>
  encodePacket({ type: 'publish', topic, payload, qos, retain: false, dup: false, packetId }, 5);

describe('limits over TCP', () => {
  it('max connections: MQTT.js over the limit gets CONNACK 0x97', async () => {
    const { broker, url } = await startTestBroker({
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0, maxConnections: 1 }],
    });
    brokers.push(broker);
    const first = await within(mqtt.connectAsync(url, { ...bounded, protocolVersion: 5 }), 5000, 'first');
    try {
      await assert.rejects(
        within(mqtt.connectAsync(url, { ...bounded, protocolVersion: 5 }), 5000, 'second'),
        (error: Error & { code?: number }) => error.code === 0x97,
      );
    } finally {
      await first.endAsync();
    }
  });

  it('a subscriber that stops reading loses QoS 0 (counted); a reading one gets every message', async () => {
    const { broker, port, url } = await startTestBroker({ maxQueuedMessages: 5000 });
    brokers.push(broker);
    const slow = await rawClient(port, 'slow', 'load');
    const fast = await within(mqtt.connectAsync(url, { ...bounded, protocolVersion: 5 }), 5000, 'fast');
    const count = 1500;
    let got = 0;
    const all = new Promise<void>((resolve) =>
      fast.on('message', () => {
        if (++got === count) resolve();
      }),
    );
    await fast.subscribeAsync('load', { qos: 1 });
    const publisher = await rawClient(port, 'publisher');
    const payload = Buffer.alloc(16 * 1024, 7);
    for (let i = 1; i <= count; i++) publisher.write(publish('load', payload, 1, (i % 65535) + 1));
    await within(all, 30_000, `fast subscriber receiving ${count} messages`);
    const dropped = broker.core.stats.messagesDroppedSlowConsumer;
    assert.ok(dropped > 0, 'the slow subscriber lost QoS 0 messages instead of growing our buffers');
    assert.ok(dropped < count);
    await fast.endAsync();
    slow.destroy();
    publisher.destroy();
  });

  it('a client that does not read is not read from until it drains, then nothing is lost', async () => {
    const { broker, port } = await startTestBroker();
    brokers.push(broker);
    // Subscribed at QoS 1 to its own topic and not reading: the PUBACKs and its own in-flight
    // copies (20 x 256 KB) fill its outbound buffer past the limit.
    const client = await rawClient(port, 'echo', 'echo', 1);
    const payload = Buffer.alloc(256 * 1024, 1);
    const count = 100;
    let total = 0;
    for (let i = 1; i <= count; i++) {
      const packet = publish('echo', payload, 1, i);
      total += packet.length;
      client.write(packet);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stats = broker.core.stats;
    const stalled = stats.bytesReceived;
    assert.ok(stalled < total / 2, `the broker stopped reading (${stalled} of ${total} bytes)`);
    assert.ok(stats.publishReceived < count / 2, `${stats.publishReceived} of ${count} PUBLISHes read`);
    client.resume();
    client.on('data', () => undefined);
    await within(
      (async () => {
        while (stats.publishReceived < count) await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
      20_000,
      'every PUBLISH read once the client reads again',
    );
    assert.equal(stats.publishReceived, count);
    client.destroy();
  });
});
