// warden/client's MQTT features against warden's broker with MQTT.js as the other party:
// request/response (answered, timed out, refused on 3.1.1), user properties both ways, the will
// (sent on a lost connection, not after a clean end), and a broker that stops answering PINGREQ.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { ClientError, connect } from '../../src/client/index.js';
import { encodePacket, FrameDecoder, type Packet } from '../../src/protocol/index.js';
import { within } from '../support/processes.js';
import { proxy } from '../support/tcp-proxy.js';
import { startTestBroker } from '../support/test-broker.js';

let broker: Broker;
let port: number;
let url: string;

before(async () => {
  ({ broker, port, url } = await startTestBroker());
});
after(() => broker.close());

/** MQTT.js v5, subscribed to `topic` before it resolves. */
async function peer(topic: string) {
  const client = await within(
    mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 }),
    5000,
    'MQTT.js connect',
  );
  await within(client.subscribeAsync(topic, { qos: 1 }), 5000, 'MQTT.js subscribe');
  return client;
}

describe('request/response and user properties', () => {
  it('request() gets the answer an MQTT.js responder sends to its Response Topic and Correlation Data', async () => {
    const responder = await peer('svc/echo');
    responder.on('message', (_topic, payload, packet) => {
      const { responseTopic, correlationData } = packet.properties ?? {};
      if (responseTopic)
        responder.publish(responseTopic, `echo:${payload}`, { qos: 1, properties: { correlationData } });
    });
    const client = await connect(url, { reconnect: false });
    try {
      const [a, b] = await Promise.all([
        client.request('svc/echo', 'one'),
        client.request('svc/echo', 'two'),
      ]);
      assert.equal(a.payload.toString(), 'echo:one');
      assert.equal(b.payload.toString(), 'echo:two');
      await assert.rejects(client.request('svc/nobody', 'hello?', { timeoutMs: 300 }), {
        code: 'ERR_TIMEOUT',
        message: 'no response on svc/nobody within 300 ms',
      });
    } finally {
      await client.end();
      await responder.endAsync();
    }
    const v311 = await connect(url, { protocolVersion: 4, reconnect: false });
    await assert.rejects(v311.request('svc/echo', 'x'), { code: 'ERR_PROTOCOL' });
    await v311.end();
  });

  it('user properties travel both ways, in order and with repeated names', async () => {
    const other = await peer('props/to-mqttjs');
    const client = await connect(url, { reconnect: false });
    try {
      await client.subscribe('props/to-warden', { qos: 1 });
      const seen = new Promise<[string, Buffer, mqtt.IPublishPacket]>((resolve) =>
        other.once('message', (...args) => resolve(args)),
      );
      await client.publish('props/to-mqttjs', 'x', {
        qos: 1,
        properties: {
          userProperties: [
            ['site', 'north'],
            ['unit', 'C'],
            ['site', 'b'],
          ],
        },
      });
      const [, , packet] = await within(seen, 5000, 'MQTT.js message');
      // MQTT.js gathers repeated names into an array, on a null-prototype object.
      assert.deepEqual({ ...packet.properties?.userProperties }, { site: ['north', 'b'], unit: 'C' });

      other.publish('props/to-warden', 'y', { qos: 1, properties: { userProperties: { model: 'T-1000' } } });
      const got = await within(client.messages().next(), 5000, 'message to warden');
      assert.deepEqual(got.value?.properties?.userProperties, [['model', 'T-1000']]);
    } finally {
      await client.end();
      await other.endAsync();
    }
  });
});

describe('will and keep alive', () => {
  it('the will is published when the connection is lost, and not after a clean end()', async () => {
    const watcher = await peer('wills/#');
    const messages: string[] = [];
    watcher.on('message', (topic, payload) => messages.push(`${topic} ${payload}`));
    const path = await proxy(port);
    try {
      const will = (id: string) => ({ topic: `wills/${id}`, payload: `${id} gone`, qos: 1 as const });
      const lost = await connect(`mqtt://127.0.0.1:${path.port}`, { will: will('lost'), reconnect: false });
      const ended = await connect(url, { will: will('ended'), reconnect: false });
      await ended.end();
      path.cut();
      await within(
        new Promise<void>((resolve) => {
          const check = () => (messages.length > 0 ? resolve() : setTimeout(check, 10));
          check();
        }),
        5000,
        'the will',
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(messages, ['wills/lost lost gone']);
      assert.equal(lost.connected, false);
    } finally {
      path.close();
      await watcher.endAsync();
    }
  });

  it('a broker that stops answering PINGREQ: the connection is dropped with the reason', async () => {
    // A broker that accepts the CONNECT and then says nothing more: no PINGRESP ever.
    const sockets: Socket[] = [];
    const mute = createServer((socket) => {
      sockets.push(socket);
      const decoder = new FrameDecoder({ protocolVersion: 5 });
      socket.on('data', (chunk: Buffer) => {
        for (const packet of decoder.push(chunk))
          if (packet.type === 'connect')
            socket.write(encodePacket({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 5));
      });
      socket.on('error', () => undefined);
    });
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    try {
      const started = Date.now();
      const client = await connect(`mqtt://127.0.0.1:${(mute.address() as AddressInfo).port}`, {
        keepAlive: 1,
        reconnect: false,
      });
      await within(
        new Promise<void>((resolve) => {
          const check = () => (client.state === 'disconnected' ? resolve() : setTimeout(check, 20));
          check();
        }),
        5000,
        'keep alive loss',
      );
      assert.ok(Date.now() - started >= 1000, 'not before one keep alive passed');
      assert.ok(client.lastError instanceof ClientError);
      assert.equal(client.lastError.code, 'ERR_TIMEOUT');
      assert.equal(client.lastError.message, 'no PINGRESP within 1 s');
      assert.equal(client.stages.at(-1)?.detail, 'no PINGRESP within 1 s');
    } finally {
      for (const s of sockets) s.destroy();
      mute.close();
    }
  });

  it('manualAcks, QoS 2: a copy sent again before the ack gets no PUBREC; the ack sends one', async () => {
    // A broker of a few lines: the same QoS 2 PUBLISH twice, then a QoS 0 one as the probe.
    const got: Packet[] = [];
    let server: Socket | undefined;
    const fake = createServer((socket) => {
      server = socket;
      const decoder = new FrameDecoder({ protocolVersion: 5 });
      socket.on('data', (chunk: Buffer) => {
        for (const packet of decoder.push(chunk)) {
          got.push(packet);
          if (packet.type !== 'connect') continue;
          const publish = {
            type: 'publish',
            topic: 'q2',
            payload: Buffer.from('once'),
            qos: 2,
            retain: false,
          } as const;
          socket.write(encodePacket({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 5));
          socket.write(encodePacket({ ...publish, dup: false, packetId: 7 }, 5));
          socket.write(encodePacket({ ...publish, dup: true, packetId: 7 }, 5));
          socket.write(encodePacket({ ...publish, qos: 0, dup: false, topic: 'probe' }, 5));
        }
      });
      socket.on('error', () => undefined);
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    const client = await connect(`mqtt://127.0.0.1:${(fake.address() as AddressInfo).port}`, {
      manualAcks: true,
      reconnect: false,
    });
    try {
      const inbox = client.messages();
      const first = (await within(inbox.next(), 5000, 'the QoS 2 message')).value!;
      assert.equal(first.topic, 'q2');
      const probe = (await within(inbox.next(), 5000, 'the probe')).value!;
      assert.equal(probe.topic, 'probe', 'the copy sent again is not delivered');
      // The client has read the copy (it came before the probe): a PUBREC for it would be sent
      // before this marker.
      await client.publish('marker', 'm', { qos: 0 });
      const waitFor = (what: (p: Packet) => boolean, name: string) =>
        within(
          new Promise<void>((resolve) => {
            const check = () => (got.some(what) ? resolve() : setTimeout(check, 10));
            check();
          }),
          5000,
          name,
        );
      await waitFor((p) => p.type === 'publish' && p.topic === 'marker', 'the marker');
      assert.deepEqual(
        got.map((p) => p.type),
        ['connect', 'publish'],
        'no PUBREC before the ack',
      );
      first.ack!();
      await waitFor((p) => p.type === 'pubrec', 'the PUBREC');
      assert.deepEqual(
        got.filter((p) => p.type === 'pubrec'),
        [{ type: 'pubrec', packetId: 7 }],
      );
      server!.write(encodePacket({ type: 'pubrel', packetId: 7 }, 5));
      await waitFor((p) => p.type === 'pubcomp', 'the PUBCOMP');
    } finally {
      await client.end({ timeoutMs: 500 });
      server?.destroy();
      fake.close();
    }
  });
});
