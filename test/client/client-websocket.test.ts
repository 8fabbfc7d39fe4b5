// warden/client over WebSocket: ws:// and wss:// to warden's WebSocket listeners with MQTT.js on
// the other end; the broker judged before the upgrade on wss (a broker that fails verification
// receives not one byte of HTTP); a wrong path named with its HTTP status; warden pub over wss.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { ClientError, connect } from '../../src/client/index.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { runWarden, within } from '../support/processes.js';

let pki: TestPki;
let broker: Broker;
let wsPort: number;
let wssPort: number;

before(async () => {
  pki = await createTestPki();
  broker = await createBroker(
    {
      listeners: [
        { protocol: 'ws', host: '127.0.0.1', port: 0 },
        {
          protocol: 'ws',
          host: '127.0.0.1',
          port: 0,
          tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
        },
      ],
      allowAnonymous: true,
      sysInterval: 0,
    },
    pino({ level: 'silent' }),
  );
  wsPort = broker.listeners[0]!.port;
  wssPort = broker.listeners[1]!.port;
});
after(() => broker.close());

describe('warden/client over WebSocket', () => {
  for (const secure of [false, true]) {
    const scheme = secure ? 'wss' : 'ws';
    it(`${scheme}://: stages in order, and messages both ways with MQTT.js over ${scheme}`, async () => {
      const port = secure ? wssPort : wsPort;
      const url = `${scheme}://localhost:${port}/mqtt`;
      const other = await mqtt.connectAsync(url, {
        protocolVersion: 5,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ca: secure ? readFileSync(pki.caFile, 'utf8') : undefined,
      });
      const client = await connect(url, { caFile: secure ? pki.caFile : undefined, reconnect: false });
      try {
        assert.deepEqual(
          client.stages.map((s) => s.stage),
          secure
            ? [
                'tcp-connecting',
                'tls-handshaking',
                'certificate-verified',
                'secure',
                'websocket-upgrading',
                'connect-sent',
                'connected',
              ]
            : ['tcp-connecting', 'websocket-upgrading', 'connect-sent', 'connected'],
        );
        await client.subscribe('ws/to-warden', { qos: 1 });
        await other.subscribeAsync('ws/to-mqttjs', { qos: 1 });
        const toMqttjs = new Promise<string>((resolve) =>
          other.once('message', (_t, p) => resolve(p.toString())),
        );
        await client.publish('ws/to-mqttjs', 'from warden', { qos: 1 });
        assert.equal(await within(toMqttjs, 5000, 'MQTT.js message'), 'from warden');
        await other.publishAsync('ws/to-warden', 'from mqtt.js', { qos: 1 });
        const got = await within(client.messages().next(), 5000, 'warden message');
        assert.equal(got.value?.payload.toString(), 'from mqtt.js');
      } finally {
        await client.end();
        await other.endAsync();
      }
    });
  }

  it('wss:// judges the broker before the upgrade: a wrong host gets not one byte of HTTP', async () => {
    let received = 0;
    const server = createTlsServer(
      { cert: readFileSync(pki.servers.wrongHost.cert), key: readFileSync(pki.servers.wrongHost.key) },
      (socket) => {
        socket.on('data', (d: Buffer) => {
          received += d.length;
        });
        socket.on('error', () => undefined);
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as AddressInfo).port;
      await assert.rejects(
        connect(`wss://localhost:${port}/mqtt`, { caFile: pki.caFile, reconnect: false }),
        {
          code: 'ERR_TLS_HOSTNAME_MISMATCH',
          stage: 'tls-handshaking',
        },
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(received, 0, 'the server received application data');
    } finally {
      server.close();
    }
  });

  it('a wrong path is named with the HTTP status the broker answered', async () => {
    await assert.rejects(connect(`ws://127.0.0.1:${wsPort}/nope`, { reconnect: false }), (e: unknown) => {
      assert.ok(e instanceof ClientError);
      assert.equal(e.code, 'ERR_WEBSOCKET_UPGRADE');
      assert.equal(e.stage, 'websocket-upgrading');
      assert.match(e.message, /upgrade of \/nope with HTTP 4\d\d/);
      return true;
    });
  });

  it('warden pub -L wss://… publishes to an MQTT.js subscriber', async () => {
    const url = `wss://localhost:${wssPort}/mqtt`;
    const other = await mqtt.connectAsync(url, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ca: readFileSync(pki.caFile, 'utf8'),
    });
    try {
      await other.subscribeAsync('cli/ws', { qos: 1 });
      const got = new Promise<string>((resolve) => other.once('message', (_t, p) => resolve(p.toString())));
      const pub = await runWarden(
        'pub',
        '-L',
        url,
        '--cafile',
        pki.caFile,
        '-t',
        'cli/ws',
        '-m',
        'over wss',
        '-q',
        '1',
      );
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(await within(got, 5000, 'message from warden pub'), 'over wss');
    } finally {
      await other.endAsync();
    }
  });
});
