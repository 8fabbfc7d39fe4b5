// MQTT over WebSocket (path /mqtt, subprotocol mqtt) with MQTT.js, and across transports:
// a TCP publisher (mosquitto_pub) reaching a WebSocket subscriber.

import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { createBroker } from '../support/memory-broker.js';
import { run, within } from '../support/processes.js';

let broker: Broker;
let tcpPort: number;
let wsUrl: string;
const bounded = { reconnectPeriod: 0, connectTimeout: 5000 } as const;

before(async () => {
  broker = await createBroker(
    {
      listeners: [
        { protocol: 'mqtt', host: '127.0.0.1', port: 0 },
        { protocol: 'ws', host: '127.0.0.1', port: 0 },
      ],
      allowAnonymous: true,
    },
    pino({ level: 'silent' }),
  );
  tcpPort = broker.listeners[0]!.port;
  wsUrl = broker.listeners[1]!.url;
});
after(() => broker.close());

describe('MQTT over WebSocket', () => {
  it('listens at ws://host:port/mqtt', () => {
    assert.match(wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT.js publishes and receives over WebSocket (level ${protocolVersion})`, async () => {
      const client = await within(
        mqtt.connectAsync(wsUrl, { ...bounded, protocolVersion }),
        5000,
        'WebSocket CONNECT',
      );
      try {
        await client.subscribeAsync(`ws/${protocolVersion}`, { qos: 1 });
        const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
        await client.publishAsync(`ws/${protocolVersion}`, 'over websocket', { qos: 1 });
        assert.equal(await within(got, 5000, 'message over WebSocket'), 'over websocket');
      } finally {
        await client.endAsync();
      }
    });
  }

  it('a TCP publisher (mosquitto_pub) reaches a WebSocket subscriber', async () => {
    const client = await within(
      mqtt.connectAsync(wsUrl, { ...bounded, protocolVersion: 5 }),
      5000,
      'WebSocket CONNECT',
    );
    try {
      await client.subscribeAsync('cross/#', { qos: 1 });
      const got = new Promise<string>((resolve) =>
        client.on('message', (t, p) => resolve(`${t} ${p.toString()}`)),
      );
      const pub = await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(tcpPort),
        '-t',
        'cross/tcp',
        '-m',
        'from tcp',
        '-q',
        '1',
      ]);
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(await within(got, 5000, 'cross-transport message'), 'cross/tcp from tcp');
    } finally {
      await client.endAsync();
    }
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const status = await within(
      new Promise<number | undefined>((resolve, reject) => {
        get(wsUrl.replace('ws://', 'http://'), (response) => {
          response.resume();
          resolve(response.statusCode);
        }).on('error', reject);
      }),
      5000,
      'HTTP answer',
    );
    assert.equal(status, 426);
  });
});
