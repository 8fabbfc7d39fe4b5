// The broker over real TCP, driven by peers we did not write: Debian's mosquitto_pub and
// mosquitto_sub (3.1.1 and 5.0) and MQTT.js (3.1.1 and 5.0).

import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { run, start, within } from '../support/processes.js';
import { startTestBroker } from '../support/test-broker.js';

let broker: Broker;
let port: number;
let url: string;

before(async () => ({ broker, port, url } = await startTestBroker()));
after(() => broker.close());

/** MQTT.js retries forever by default: fail fast instead, so no test waits unbounded. */
const bounded = { reconnectPeriod: 0, connectTimeout: 5000 } as const;

const hostArgs = () => ['-h', '127.0.0.1', '-p', String(port)];

describe('mosquitto_pub -> mosquitto_sub', () => {
  for (const version of ['311', '5'] as const) {
    it(`delivers QoS 0, 1 and 2 over MQTT ${version === '5' ? '5.0' : '3.1.1'}`, async () => {
      const topic = `peers/${version}`;
      const sub = start('mosquitto_sub', [
        ...hostArgs(),
        '-V',
        version,
        '-t',
        `${topic}/#`,
        '-C',
        '3',
        '-v',
        '-q',
        '2',
        '-W',
        '10',
      ]);
      await waitForSubscription(`${topic}/#`);
      for (const qos of ['0', '1', '2']) {
        const pub = await run('mosquitto_pub', [
          ...hostArgs(),
          '-V',
          version,
          '-t',
          `${topic}/q${qos}`,
          '-m',
          `m${qos}`,
          '-q',
          qos,
        ]);
        assert.equal(pub.code, 0, pub.stderr);
      }
      const result = await sub.done(10_000);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout.trim().split('\n'), [
        `${topic}/q0 m0`,
        `${topic}/q1 m1`,
        `${topic}/q2 m2`,
      ]);
    });
  }

  it('sends a retained message to a later subscriber, and an empty retained payload deletes it', async () => {
    assert.equal(
      (await run('mosquitto_pub', [...hostArgs(), '-t', 'retained/a', '-m', 'kept', '-r', '-q', '1'])).code,
      0,
    );
    const got = await run('mosquitto_sub', [...hostArgs(), '-t', 'retained/#', '-C', '1', '-v', '-W', '5']);
    assert.equal(got.stdout.trim(), 'retained/a kept');
    assert.equal((await run('mosquitto_pub', [...hostArgs(), '-t', 'retained/a', '-n', '-r'])).code, 0);
    const none = await run('mosquitto_sub', [...hostArgs(), '-t', 'retained/#', '-C', '1', '-W', '1']);
    assert.equal(none.stdout, '');
    assert.equal(none.code, 27, 'mosquitto_sub -W timed out (exit 27): nothing was retained');
  });
});

/** Waits until some session holds a subscription to `filter`: the subscriber's SUBSCRIBE is in place. */
async function waitForSubscription(filter: string): Promise<void> {
  const subscribed = () => [...broker.core.sessions.values()].some((s) => s.subscriptions.has(filter));
  await within(
    (async () => {
      while (!subscribed()) await new Promise((r) => setTimeout(r, 20));
    })(),
    5000,
    `a subscription to ${filter}`,
  );
}

describe('MQTT.js', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`publishes and receives QoS 0/1/2 over protocol level ${protocolVersion}`, async () => {
      const subscriber = await mqtt.connectAsync(url, {
        ...bounded,
        protocolVersion,
        clientId: `js-sub-${protocolVersion}`,
      });
      const publisher = await mqtt.connectAsync(url, {
        ...bounded,
        protocolVersion,
        clientId: `js-pub-${protocolVersion}`,
      });
      try {
        const granted = await subscriber.subscribeAsync(`js/${protocolVersion}/#`, { qos: 2 });
        assert.equal(granted[0]?.qos, 2);
        const received: string[] = [];
        const all = new Promise<void>((resolve) => {
          subscriber.on('message', (topic, payload, packet) => {
            received.push(`${topic}:${payload.toString()}:${packet.qos}`);
            if (received.length === 3) resolve();
          });
        });
        for (const qos of [0, 1, 2] as const)
          await publisher.publishAsync(`js/${protocolVersion}/q${qos}`, `m${qos}`, { qos });
        await within(all, 5000, 'three messages');
        assert.deepEqual(received.sort(), [
          `js/${protocolVersion}/q0:m0:0`,
          `js/${protocolVersion}/q1:m1:1`,
          `js/${protocolVersion}/q2:m2:2`,
        ]);
      } finally {
        await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
      }
    });
  }

  it('passes v5 user properties, content type and correlation data through unchanged', async () => {
    const subscriber = await mqtt.connectAsync(url, {
      ...bounded,
      protocolVersion: 5,
    });
    const publisher = await mqtt.connectAsync(url, {
      ...bounded,
      protocolVersion: 5,
    });
    try {
      await subscriber.subscribeAsync('props/x', { qos: 1 });
      const got = new Promise<mqtt.IPublishPacket>((resolve) =>
        subscriber.on('message', (_t, _p, packet) => resolve(packet)),
      );
      await publisher.publishAsync('props/x', '{}', {
        qos: 1,
        properties: {
          userProperties: { site: 'plant-7' },
          contentType: 'application/json',
          correlationData: Buffer.from('c0ffee', 'hex'),
          responseTopic: 'props/reply',
        },
      });
      const packet = await within(got, 5000, 'message with properties');
      assert.deepEqual({ ...packet.properties?.userProperties }, { site: 'plant-7' });
      assert.equal(packet.properties?.contentType, 'application/json');
      assert.equal(packet.properties?.correlationData?.toString('hex'), 'c0ffee');
      assert.equal(packet.properties?.responseTopic, 'props/reply');
    } finally {
      await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
    }
  });

  it('assigns a client id to a v5 client that sends an empty one', async () => {
    const client = mqtt.connect(url, {
      ...bounded,
      protocolVersion: 5,
      clientId: '',
    });
    try {
      const connack = await within(
        new Promise<mqtt.IConnackPacket>((resolve) => client.once('connect', resolve)),
        5000,
        'CONNACK',
      );
      const assigned = connack.properties?.assignedClientIdentifier;
      assert.match(String(assigned), /^warden-/);
      assert.ok(broker.core.sessions.has(String(assigned)));
    } finally {
      await client.endAsync();
    }
  });
});

describe('hostile input', () => {
  it('closes a client that sends garbage, while another client keeps working', async () => {
    const good = await mqtt.connectAsync(url, {
      ...bounded,
      protocolVersion: 5,
    });
    try {
      const closed = new Promise<void>((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port }, () =>
          socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n')),
        );
        socket.on('close', () => resolve());
        socket.on('error', () => undefined);
      });
      await within(closed, 5000, 'garbage client closed');
      await good.subscribeAsync('alive', { qos: 1 });
      const got = new Promise<string>((resolve) => good.on('message', (_t, p) => resolve(p.toString())));
      await good.publishAsync('alive', 'yes', { qos: 1 });
      assert.equal(await within(got, 5000, 'message after garbage'), 'yes');
    } finally {
      await good.endAsync();
    }
  });

  it('answers an unknown protocol level with CONNACK 0x01, then closes', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () =>
        socket.write(Buffer.from('100c00044d5154540702003c0000', 'hex')),
      );
      let data = Buffer.alloc(0);
      socket.on('data', (d) => (data = Buffer.concat([data, d])));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    assert.equal(reply.toString('hex'), '20020001');
  });
});
