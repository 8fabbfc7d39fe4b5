// Live reload of a TLS channel: files swapped under live connections. The old connection
// survives, new connections see the new certificate, a failed reload keeps the old material, a
// CRL that now revokes a connected client disconnects it (v5 DISCONNECT 0x87 with a reason), and
// so does a client certificate that expires while connected.

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { createCrl, issueCertificate } from '../../src/pki/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { run, within } from '../support/processes.js';

let pki: TestPki;
const brokers: Broker[] = [];
const clients: mqtt.MqttClient[] = [];
before(async () => {
  pki = await createTestPki();
});
after(async () => {
  for (const c of clients) c.end(true);
  await Promise.all(brokers.map((b) => b.close()));
});

const silent = pino({ level: 'silent' });
const bounded = { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5 as const };

async function serialSeenBy(port: number): Promise<string> {
  const result = await run(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-showcerts'],
    10_000,
    '',
  );
  const pem = result.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0];
  assert.ok(pem, result.stdout + result.stderr);
  const x = await run('openssl', ['x509', '-noout', '-serial'], 10_000, pem);
  return x.stdout.trim().split('=')[1]!.toLowerCase().replace(/^0+/, '');
}

/** A live client: publishes to itself and waits for the message back. */
async function roundTrip(client: mqtt.MqttClient, topic: string): Promise<void> {
  await client.subscribeAsync(topic);
  const back = new Promise<void>((resolve) => client.once('message', () => resolve()));
  await client.publishAsync(topic, 'ping');
  await within(back, 5000, `round trip on ${topic}`);
}

describe('TLS live reload', () => {
  it('swapping the server certificate: the old connection survives, new ones see the new certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-reload-'));
    const certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    copyFileSync(pki.servers.valid.cert, certFile);
    copyFileSync(pki.servers.valid.key, keyFile);
    const broker = await createBroker(
      {
        listeners: [{ host: '127.0.0.1', port: 0, tls: { certFile, keyFile } }],
        allowAnonymous: true,
        sysInterval: 0,
      },
      silent,
    );
    brokers.push(broker);
    const port = broker.listeners[0]!.port;
    const url = `mqtts://localhost:${port}`;
    const old = await within(
      mqtt.connectAsync(url, { ...bounded, ca: readFileSync(pki.caFile) }),
      5000,
      'old client',
    );
    clients.push(old);
    assert.equal(await serialSeenBy(port), pki.servers.valid.serialNumber.toLowerCase().replace(/^0+/, ''));

    // A bad pair first: the reload fails, names the file, and the old certificate stays.
    writeFileSync(certFile, readFileSync(pki.servers.rsa.cert));
    const [failed] = await broker.reloadTls();
    assert.equal(failed?.ok, false);
    assert.match(failed?.error ?? '', /key file .*server\.key does not match the certificate/);
    assert.equal(await serialSeenBy(port), pki.servers.valid.serialNumber.toLowerCase().replace(/^0+/, ''));

    writeFileSync(keyFile, readFileSync(pki.servers.rsa.key));
    const [reloaded] = await broker.reloadTls();
    assert.equal(reloaded?.ok, true, reloaded?.error);
    assert.equal(await serialSeenBy(port), pki.servers.rsa.serialNumber.toLowerCase().replace(/^0+/, ''));
    await roundTrip(old, 'still/here');
    const fresh = await within(
      mqtt.connectAsync(url, { ...bounded, ca: readFileSync(pki.caFile) }),
      5000,
      'new client',
    );
    clients.push(fresh);
  });

  it('a CRL file that now revokes a connected client: reloaded on change, the client gets DISCONNECT 0x87', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-crl-'));
    const crlFile = join(dir, 'clients.crl');
    const emptyCrl = async () =>
      `${await createCrl(pki.intermediate, [])}\n${await createCrl(pki.root, [])}\n`;
    writeFileSync(crlFile, await emptyCrl());
    const broker = await createBroker(
      {
        listeners: [
          {
            host: '127.0.0.1',
            port: 0,
            tls: mutualTls(pki, { crlFiles: [crlFile], usernameFrom: 'cn' }),
          },
        ],
        sysInterval: 0,
      },
      silent,
    );
    brokers.push(broker);
    const url = `mqtts://localhost:${broker.listeners[0]!.port}`;
    const tls = (c: { cert: string; key: string }) => ({
      ca: readFileSync(pki.caFile),
      cert: readFileSync(c.cert),
      key: readFileSync(c.key),
    });
    const doomed = await within(
      mqtt.connectAsync(url, { ...bounded, clientId: 'doomed', ...tls(pki.clients.valid) }),
      5000,
      'doomed',
    );
    const other = await within(
      mqtt.connectAsync(url, { ...bounded, clientId: 'other', ...tls(pki.clients.withEmail) }),
      5000,
      'other',
    );
    clients.push(doomed, other);
    const disconnected = new Promise<mqtt.IDisconnectPacket>((resolve) => doomed.once('disconnect', resolve));

    const revoking = await createCrl(pki.intermediate, [{ serialNumber: pki.clients.valid.serialNumber }]);
    writeFileSync(crlFile, `${revoking}\n${await createCrl(pki.root, [])}\n`);
    const packet = await within(disconnected, 10_000, 'DISCONNECT after the CRL changed');
    assert.equal(packet.reasonCode, 0x87);
    assert.equal(packet.properties?.reasonString, 'client certificate revoked');
    await roundTrip(other, 'not/revoked');
    await assert.rejects(
      within(
        mqtt.connectAsync(url, { ...bounded, clientId: 'again', ...tls(pki.clients.valid) }),
        5000,
        'again',
      ),
    );
    assert.ok((broker.core.stats.handshakeFailures.revoked ?? 0) >= 1);
  });

  it('a client certificate that expires while connected: DISCONNECT 0x87 "client certificate expired"', async () => {
    const shortLived = await issueCertificate(pki.intermediate, {
      name: 'short-lived',
      kind: 'client',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_000),
    });
    const broker = await createBroker(
      {
        listeners: [
          {
            host: '127.0.0.1',
            port: 0,
            tls: mutualTls(pki),
          },
        ],
        sysInterval: 0,
      },
      silent,
    );
    brokers.push(broker);
    const client = await within(
      mqtt.connectAsync(`mqtts://localhost:${broker.listeners[0]!.port}`, {
        ...bounded,
        ca: readFileSync(pki.caFile),
        cert: shortLived.fullChainPem,
        key: shortLived.privateKeyPem,
      }),
      5000,
      'short-lived client',
    );
    clients.push(client);
    const packet = await within(
      new Promise<mqtt.IDisconnectPacket>((resolve) => client.once('disconnect', resolve)),
      10_000,
      'DISCONNECT at expiry',
    );
    assert.equal(packet.reasonCode, 0x87);
    assert.equal(packet.properties?.reasonString, 'client certificate expired');
  });
});
