// warden/client across lost connections, against warden's TLS listener through a TCP proxy that
// the test cuts: reconnect with stages, the offline queue delivered after it, subscriptions
// restored, TLS resumption, a rotated client certificate picked up (and not hidden by
// resumption), the bounded queue, and end() draining what is in flight.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { type ClientCertificate, ClientError, connect, type MqttClient } from '../../src/client/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { within } from '../support/processes.js';
import { proxy } from '../support/tcp-proxy.js';

let pki: TestPki;
let broker: Broker;
let tlsPort: number;
const connected: Array<{ username?: string }> = [];

before(async () => {
  pki = await createTestPki();
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg: string; username?: string };
        if (entry.msg === 'client connected') connected.push(entry);
      },
    },
  );
  broker = await createBroker(
    {
      listeners: [
        {
          host: '127.0.0.1',
          port: 0,
          tls: mutualTls(pki, { usernameFrom: 'cn' }),
        },
      ],
      sysInterval: 0,
    },
    logger,
  );
  tlsPort = broker.listeners[0]!.port;
});
after(() => broker.close());

async function waitFor(client: MqttClient, stage: string, after: number): Promise<void> {
  await within(
    new Promise<void>((resolve) => {
      const check = () => {
        if (client.stages.some((s) => s.stage === stage && s.at >= after)) return resolve();
        setTimeout(check, 10);
      };
      check();
    }),
    10_000,
    `stage ${stage}`,
  );
}

const pem = (files: { privateKeyPem: string; fullChainPem: string }): ClientCertificate => ({
  cert: files.fullChainPem,
  key: files.privateKeyPem,
});

describe('reconnect', () => {
  it('comes back on its own: queued publishes go out, subscriptions return, TLS resumes; a rotated certificate is used', async () => {
    const link = await proxy(tlsPort);
    let current = pem(pki.clients.valid);
    let calls = 0;
    const client = await connect(`mqtts://localhost:${link.port}`, {
      caFile: pki.caFile,
      clientId: 'roaming',
      protocolVersion: 5,
      certificate: () => {
        calls++;
        return current;
      },
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const watcher = await connect(`mqtts://localhost:${tlsPort}`, {
      caFile: pki.caFile,
      clientId: 'watcher',
      certificate: pem(pki.clients.withEmail),
    });
    try {
      assert.deepEqual(await client.subscribe('fleet/+', { qos: 1 }), [1]);
      await watcher.subscribe('uplink/#', { qos: 1 });
      assert.equal(client.tls?.resumed, false);

      // Cut: the publish made while offline is queued and delivered after the reconnect.
      const cutAt = Date.now();
      link.cut();
      await waitFor(client, 'reconnecting', cutAt);
      const queued = client.publish('uplink/1', 'while offline', { qos: 1 });
      await within(queued, 10_000, 'queued publish acknowledged after reconnect');
      const got = await within(watcher.messages().next(), 5000, 'queued message');
      assert.equal(got.value?.payload.toString(), 'while offline');
      assert.ok(client.stages.some((s) => s.stage === 'disconnected' && s.at >= cutAt));
      assert.equal(client.tls?.resumed, true, 'the TLS session resumed with the same certificate');

      // The broker lost the clean session: the subscription was sent again.
      await watcher.publish('fleet/7', 'to the roamer', { qos: 1 });
      const back = await within(client.messages().next(), 5000, 'message on the restored subscription');
      assert.equal(back.value?.topic, 'fleet/7');

      // Rotate the certificate: the next connection uses it, without resuming the old session.
      current = pem(pki.clients.withEmail);
      const rotateAt = Date.now();
      link.cut();
      await waitFor(client, 'connected', rotateAt);
      assert.equal(client.tls?.resumed, false);
      assert.equal(calls, 3, 'the provider is asked at every connect');
      const roamer = connected.filter((c) => c.username !== undefined).map((c) => c.username);
      assert.deepEqual(roamer.slice(-1), ['device-3']);
      assert.ok(roamer.includes('device-1'));
    } finally {
      await client.end();
      await watcher.end();
      link.close();
    }
  });

  it('the offline queue is bounded; end() waits for what is in flight; an ended client refuses work', async () => {
    const link = await proxy(tlsPort);
    const client = await connect(`mqtts://localhost:${link.port}`, {
      caFile: pki.caFile,
      certificate: pem(pki.clients.valid),
      offlineQueueLimit: 2,
      reconnect: { initialDelayMs: 5_000, maxDelayMs: 5_000 },
    });
    try {
      const cutAt = Date.now();
      link.cut();
      await waitFor(client, 'reconnecting', cutAt);
      await client.publish('q/1', 'a');
      await client.publish('q/2', 'b');
      await assert.rejects(client.publish('q/3', 'c'), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.code, 'ERR_OFFLINE_QUEUE_FULL');
        assert.match(e.message, /publish to q\/3: offline queue full \(2 messages\)/);
        return true;
      });
    } finally {
      await client.end({ timeoutMs: 100 });
      link.close();
    }
    await assert.rejects(client.publish('q/4', 'd'), { code: 'ERR_CLIENT_ENDED' });

    const direct = await connect(`mqtts://localhost:${tlsPort}`, {
      caFile: pki.caFile,
      certificate: pem(pki.clients.valid),
    });
    const acked = direct.publish('drain/1', 'x', { qos: 2 });
    await direct.end();
    await within(acked, 1000, 'QoS 2 publish completed before end() returned');
  });
});
