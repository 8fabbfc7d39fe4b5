// warden/client over real sockets: stages in order; TLS verification before CONNECT, refusing
// each bad certificate with its stage and reason while the server receives not one byte of
// application data; CONNACK refusals named.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createTcpServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Broker } from '../../src/broker/index.js';
import { ClientError, connect } from '../../src/client/index.js';
import { createCrl, issueCertificate } from '../../src/pki/index.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { within } from '../support/processes.js';
import { startTestBroker } from '../support/test-broker.js';

let pki: TestPki;
let broker: Broker;
let brokerPort: number;
const servers: TlsServer[] = [];

before(async () => {
  pki = await createTestPki();
  ({ broker, port: brokerPort } = await startTestBroker());
});
after(async () => {
  for (const s of servers) s.close();
  await broker.close();
});

/** A TLS endpoint with the given certificate; forwards to the broker, or just counts bytes. */
async function tlsEndpoint(files: { cert: string; key: string }, forward: boolean) {
  const received = { bytes: 0 };
  const server = createTlsServer(
    { cert: readFileSync(files.cert), key: readFileSync(files.key) },
    (socket) => {
      socket.on('data', (d: Buffer) => {
        received.bytes += d.length;
      });
      socket.on('error', () => undefined);
      if (forward) {
        const upstream = tcpConnect({ host: '127.0.0.1', port: brokerPort });
        socket.pipe(upstream).pipe(socket);
        upstream.on('error', () => socket.destroy());
      }
    },
  );
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received };
}

describe('warden/client over TCP', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`connects, subscribes and receives what it publishes (protocol level ${protocolVersion})`, async () => {
      const client = await connect(`mqtt://127.0.0.1:${brokerPort}`, {
        protocolVersion,
        clientId: `client-${protocolVersion}`,
      });
      try {
        assert.deepEqual(
          client.stages.map((s) => s.stage),
          ['tcp-connecting', 'connect-sent', 'connected'],
        );
        assert.deepEqual(await client.subscribe('client/echo', { qos: 1 }), [1]);
        await client.publish('client/echo', 'ping', { qos: 1 });
        const iterator = client.messages();
        const next = await within(iterator.next(), 5000, 'echoed message');
        assert.equal(next.value?.topic, 'client/echo');
        assert.equal(next.value?.payload.toString(), 'ping');
      } finally {
        await client.end();
      }
    });
  }

  it('names a refused TCP connection and its stage', async () => {
    const closed = createTcpServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await assert.rejects(connect(`mqtt://127.0.0.1:${port}`), (e: unknown) => {
      assert.ok(e instanceof ClientError);
      assert.equal(e.code, 'ERR_TCP_CONNECT');
      assert.equal(e.stage, 'tcp-connecting');
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
  });

  it('names a CONNACK refusal with its code', async () => {
    await assert.rejects(
      connect(`mqtt://127.0.0.1:${brokerPort}`, { protocolVersion: 4, clientId: '', clean: false }),
      (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.code, 'ERR_CONNACK_REFUSED');
        assert.equal(e.stage, 'connect-sent');
        assert.equal(e.reasonCode, 0x02);
        assert.equal(e.message, 'CONNACK 0x02 identifier rejected');
        return true;
      },
    );
  });
});

describe('warden/client over TLS', () => {
  it('verifies the broker, then connects: every stage in order with its detail', async () => {
    const endpoint = await tlsEndpoint(pki.servers.valid, true);
    const client = await connect(`mqtts://localhost:${endpoint.port}`, {
      ca: readFileSync(pki.caFile),
      clientId: 'tls-client',
    });
    try {
      assert.deepEqual(
        client.stages.map((s) => s.stage),
        ['tcp-connecting', 'tls-handshaking', 'certificate-verified', 'secure', 'connect-sent', 'connected'],
      );
      assert.equal(client.stages[2]?.detail, 'CN=localhost');
      assert.match(client.stages[3]?.detail ?? '', /^TLSv1\.3 TLS_/);
      const times = client.stages.map((s) => s.elapsedMs);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        'stages are timestamped in order',
      );
      await client.subscribe('tls/echo', { qos: 1 });
      await client.publish('tls/echo', 'over tls', { qos: 1 });
      const next = await within(client.messages().next(), 5000, 'message over TLS');
      assert.equal(next.value?.payload.toString(), 'over tls');
    } finally {
      await client.end();
    }
  });

  const refusals: Array<[string, keyof TestPki['servers'], string, RegExp]> = [
    [
      'an expired certificate',
      'expired',
      'ERR_TLS_CERT_EXPIRED',
      /^certificate expired on \d{4}-\d{2}-\d{2} \(CN=localhost\)$/,
    ],
    [
      'a certificate not yet valid',
      'notYetValid',
      'ERR_TLS_CERT_NOT_YET_VALID',
      /^certificate not valid before \d{4}-\d{2}-\d{2} \(CN=localhost\)$/,
    ],
    [
      'a certificate for another host',
      'wrongHost',
      'ERR_TLS_HOSTNAME_MISMATCH',
      /^hostname localhost not in SAN \[DNS:broker\.example\.com\]/,
    ],
    [
      'a certificate from a same-name fake CA',
      'fakeCa',
      'ERR_TLS_UNKNOWN_CA',
      /^unknown CA: CN=localhost issued by CN=Warden Test Intermediate/,
    ],
  ];
  for (const [name, server, code, message] of refusals) {
    it(`refuses ${name} before sending a single MQTT byte`, async () => {
      const endpoint = await tlsEndpoint(pki.servers[server], false);
      await assert.rejects(
        connect(`mqtts://localhost:${endpoint.port}`, { ca: readFileSync(pki.caFile) }),
        (e: unknown) => {
          assert.ok(e instanceof ClientError, String(e));
          assert.equal(e.code, code);
          assert.equal(e.stage, 'tls-handshaking');
          assert.match(e.message, message);
          return true;
        },
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(endpoint.received.bytes, 0, 'the server received application data');
    });
  }

  it('refuses a revoked certificate, given the CRLs, before sending a single MQTT byte', async () => {
    const revoked = await issueCertificate(pki.intermediate, {
      name: 'localhost',
      kind: 'server',
      hosts: ['localhost'],
    });
    const dir = mkdtempSync(join(tmpdir(), 'warden-revoked-'));
    const files = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
    writeFileSync(files.cert, revoked.fullChainPem);
    writeFileSync(files.key, revoked.privateKeyPem);
    // OpenSSL checks every CA of the chain once CRLs are given: the root's (empty) and the issuer's.
    const crlFiles = [join(dir, 'root.crl'), join(dir, 'intermediate.crl')];
    writeFileSync(crlFiles[0]!, await createCrl(pki.root, []));
    writeFileSync(crlFiles[1]!, await createCrl(pki.intermediate, [{ serialNumber: revoked.serialNumber }]));
    const endpoint = await tlsEndpoint(files, false);
    await assert.rejects(
      connect(`mqtts://localhost:${endpoint.port}`, { caFile: pki.caFile, crlFiles, reconnect: false }),
      (e: unknown) => {
        assert.ok(e instanceof ClientError, String(e));
        assert.equal(e.code, 'ERR_TLS_CERT_REVOKED');
        assert.equal(e.stage, 'tls-handshaking');
        assert.equal(e.message, 'certificate revoked (CN=localhost)');
        return true;
      },
    );
    // Without the CRLs the same certificate passes: the refusal came from them.
    const valid = await tlsEndpoint(files, true);
    const client = await connect(`mqtts://localhost:${valid.port}`, { caFile: pki.caFile, reconnect: false });
    await client.end();
    assert.equal(endpoint.received.bytes, 0);
  });

  it('refuses a broker whose chain it has no CA for (system store only)', async () => {
    const endpoint = await tlsEndpoint(pki.servers.valid, false);
    await assert.rejects(connect(`mqtts://localhost:${endpoint.port}`), {
      code: 'ERR_TLS_UNKNOWN_CA',
      stage: 'tls-handshaking',
    });
    assert.equal(endpoint.received.bytes, 0);
  });
});
