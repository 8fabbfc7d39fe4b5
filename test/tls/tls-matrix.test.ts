// The TLS matrix over a PKI generated for this run: each case asserts the exact outcome, accepted
// with which identity or refused with which reason, driven by mosquitto_pub/mosquitto_sub,
// MQTT.js and openssl s_client against real TLS listeners (mqtts and wss).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker, BrokerConfigInput } from '../../src/broker/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { brokerWithListeners } from '../support/named-listeners.js';
import { run, within } from '../support/processes.js';

let pki: TestPki;
let broker: Broker;
const logs: Array<Record<string, unknown>> = [];
let port: Record<Name, number>;

const names = [
  'required',
  'optional',
  'dn',
  'email',
  'uri',
  'fingerprint',
  'clientIdMatch',
  'tls13',
  'wrongHost',
  'fakeCa',
  'wss',
  'timeout',
  'plain',
] as const;
type Name = (typeof names)[number];

before(async () => {
  pki = await createTestPki();
  const server = { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key };
  const tls = (extra: Parameters<typeof mutualTls>[1] = {}) =>
    mutualTls(pki, { crlFiles: [pki.crlFile], usernameFrom: 'cn', ...extra });
  const listeners: Record<Name, BrokerConfigInput['listeners'][number]> = {
    required: { port: 0, tls: tls() },
    optional: { port: 0, tls: tls({ clientCertificates: 'optional' }), allowAnonymous: true },
    dn: { port: 0, tls: tls({ usernameFrom: 'dn' }) },
    email: { port: 0, tls: tls({ usernameFrom: 'san-email' }) },
    uri: { port: 0, tls: tls({ usernameFrom: 'san-uri' }) },
    fingerprint: { port: 0, tls: tls({ usernameFrom: 'fingerprint' }) },
    clientIdMatch: { port: 0, tls: tls({ clientIdFrom: 'cn', requireClientIdMatch: true }) },
    tls13: { port: 0, tls: { ...server, minVersion: 'TLSv1.3' } },
    wrongHost: { port: 0, tls: { certFile: pki.servers.wrongHost.cert, keyFile: pki.servers.wrongHost.key } },
    fakeCa: { port: 0, tls: { certFile: pki.servers.fakeCa.cert, keyFile: pki.servers.fakeCa.key } },
    wss: { protocol: 'ws', port: 0, tls: tls() },
    timeout: { port: 0, tls: { ...server, handshakeTimeoutMs: 300 } },
    plain: { port: 0 },
  };
  ({ broker, port } = await brokerWithListeners(names, listeners, logs));
});
after(() => broker?.close());

const failures = () => broker.core.stats.handshakeFailures;
const connectedAs = (clientId: string) =>
  logs.find((l) => l.msg === 'client connected' && l.clientId === clientId) as
    | { username?: string }
    | undefined;

/** mosquitto_pub over TLS to a listener; returns its exit code and stderr. */
function pub(listener: Name, clientId: string, args: string[]) {
  return run(
    'mosquitto_pub',
    [
      '-h',
      'localhost',
      '-p',
      String(port[listener]),
      '-i',
      clientId,
      '-t',
      'm',
      '-m',
      'x',
      '--cafile',
      pki.caFile,
      ...args,
    ],
    10_000,
  );
}
const certArgs = (c: { cert: string; key: string }) => ['--cert', c.cert, '--key', c.key];

describe('client certificates, required (mosquitto_pub)', () => {
  it('a valid certificate is accepted and its CN becomes the user name', async () => {
    const result = await pub('required', 'valid-1', certArgs(pki.clients.valid));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(connectedAs('valid-1')?.username, 'device-1');
  });

  for (const [name, reason] of [
    ['expired', 'expired'],
    ['revoked', 'revoked'],
    ['fakeCa', 'unknown CA'],
    ['wrongKeyUsage', 'wrong key usage'],
  ] as const) {
    it(`a ${name} certificate is refused: "${reason}", logged and counted`, async () => {
      const before = failures()[reason] ?? 0;
      const result = await pub('required', `c-${name}`, certArgs(pki.clients[name]));
      assert.notEqual(result.code, 0);
      assert.equal(connectedAs(`c-${name}`), undefined);
      assert.equal(failures()[reason], before + 1, JSON.stringify(failures()));
      assert.ok(logs.some((l) => l.reason === reason && l.listener === `mqtts://127.0.0.1:${port.required}`));
    });
  }

  it('no certificate is refused: "no certificate"', async () => {
    const before = failures()['no certificate'] ?? 0;
    const result = await pub('required', 'c-none', []);
    assert.notEqual(result.code, 0);
    assert.equal(failures()['no certificate'], before + 1);
  });
});

describe('client certificates, optional', () => {
  it('no certificate: an anonymous client; a valid one: its identity; a bad one: refused', async () => {
    assert.equal((await pub('optional', 'opt-none', [])).code, 0);
    assert.equal(connectedAs('opt-none')?.username, undefined);
    assert.equal((await pub('optional', 'opt-valid', certArgs(pki.clients.valid))).code, 0);
    assert.equal(connectedAs('opt-valid')?.username, 'device-1');
    const before = failures().expired ?? 0;
    assert.notEqual((await pub('optional', 'opt-expired', certArgs(pki.clients.expired))).code, 0);
    assert.equal(failures().expired, before + 1);
  });
});

describe('identity mapping', () => {
  for (const [listener, expected] of [
    ['dn', 'CN=device-3'],
    ['email', 'device-3@example.com'],
    ['uri', 'urn:device:3'],
  ] as const) {
    it(`${listener}: the user name is "${expected}"`, async () => {
      const result = await pub(listener, `id-${listener}`, certArgs(pki.clients.withEmail));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(connectedAs(`id-${listener}`)?.username, expected);
    });
  }

  it('fingerprint: the SHA-256 fingerprint as openssl prints it', async () => {
    const result = await pub('fingerprint', 'id-fp', certArgs(pki.clients.valid));
    assert.equal(result.code, 0, result.stderr);
    const openssl = await run('openssl', [
      'x509',
      '-noout',
      '-fingerprint',
      '-sha256',
      '-in',
      pki.clients.valid.cert,
    ]);
    assert.equal(connectedAs('id-fp')?.username, openssl.stdout.trim().split('=')[1]);
  });

  it('a client certificate without the SAN asked for is refused, naming it', async () => {
    const before = failures()['the certificate has no san-email'] ?? 0;
    assert.notEqual((await pub('email', 'id-no-email', certArgs(pki.clients.valid))).code, 0);
    assert.equal(failures()['the certificate has no san-email'], before + 1);
  });

  it('client id must equal the certificate CN: MQTT.js with another id gets CONNACK 0x85', async () => {
    const options = {
      ca: readFileSync(pki.caFile),
      cert: readFileSync(pki.clients.valid.cert),
      key: readFileSync(pki.clients.valid.key),
      protocolVersion: 5 as const,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    };
    const url = `mqtts://localhost:${port.clientIdMatch}`;
    await assert.rejects(
      within(mqtt.connectAsync(url, { ...options, clientId: 'someone-else' }), 5000, 'other id'),
      (error: Error & { code?: number }) => error.code === 0x85,
    );
    const client = await within(mqtt.connectAsync(url, { ...options, clientId: 'device-1' }), 5000, 'own id');
    await client.endAsync();
  });
});

describe('the server certificate, as clients judge it', () => {
  it('wrong host: mosquitto_pub refuses it and sends no MQTT', async () => {
    const result = await pub('wrongHost', 'wh', []);
    assert.notEqual(result.code, 0);
    assert.equal(connectedAs('wh'), undefined);
  });

  it('a same-name fake CA: mosquitto_pub refuses it; the broker logs that the client refused our certificate', async () => {
    const result = await pub('fakeCa', 'fc', []);
    assert.notEqual(result.code, 0);
    assert.equal(connectedAs('fc'), undefined);
    await within(
      (async () => {
        while (
          !logs.some(
            (l) =>
              String(l.reason).startsWith('the client refused our certificate') &&
              l.listener === `mqtts://127.0.0.1:${port.fakeCa}`,
          )
        )
          await new Promise((r) => setTimeout(r, 20));
      })(),
      5000,
      'the refusal logged',
    );
  });

  it('openssl s_client verifies the chain and sees TLS 1.3 with ALPN mqtt', async () => {
    const result = await run(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${port.tls13}`,
        '-CAfile',
        pki.caFile,
        '-servername',
        'localhost',
        '-alpn',
        'mqtt',
      ],
      10_000,
      '',
    );
    assert.match(result.stdout, /Verify return code: 0 \(ok\)/);
    assert.match(result.stdout, /TLSv1\.3/);
    assert.match(result.stdout, /ALPN protocol: mqtt/);
  });
});

describe('session resumption', () => {
  it('on by default: a second TLS 1.2 handshake with the saved session is "Reused"', async () => {
    const session = join(pki.dir, 'session.pem');
    const connect = (extra: string[]) =>
      run(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${port.wrongHost}`, '-tls1_2', ...extra],
        10_000,
        '',
      );
    const first = await connect(['-sess_out', session]);
    assert.match(first.stdout, /^New, /m);
    const second = await connect(['-sess_in', session]);
    assert.match(second.stdout, /^Reused, /m);
  });
});

describe('visible failures', () => {
  it('protocol version: TLS 1.2 against a TLS 1.3-only listener', async () => {
    const before = failures()['protocol version'] ?? 0;
    const result = await run(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port.tls13}`, '-tls1_2'],
      10_000,
      '',
    );
    assert.match(result.stdout, /Cipher is \(NONE\)/, 'no session');
    assert.equal(failures()['protocol version'], before + 1);
  });

  it('plain MQTT on a TLS port and TLS on a plain port are each reported as such', async () => {
    const plainOnTls = failures()['not TLS (plain MQTT on a TLS port?)'] ?? 0;
    await run(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port.required), '-t', 'm', '-m', 'x'],
      10_000,
    );
    assert.equal(failures()['not TLS (plain MQTT on a TLS port?)'], plainOnTls + 1);
    const tlsOnPlain = failures()['TLS on a plain MQTT port'] ?? 0;
    await run('openssl', ['s_client', '-connect', `127.0.0.1:${port.plain}`], 10_000, '');
    assert.equal(failures()['TLS on a plain MQTT port'], tlsOnPlain + 1);
  });

  it('a client that never completes the handshake is cut off at the handshake time-out', async () => {
    const before = failures()['time-out'] ?? 0;
    const socket = tcpConnect(port.timeout!, '127.0.0.1');
    await within(new Promise((resolve) => socket.once('close', resolve)), 5000, 'closed by the broker');
    assert.equal(failures()['time-out'], before + 1);
  });
});

describe('wss: the same channel settings over WebSocket (MQTT.js)', () => {
  const tlsOptions = () => ({ ca: readFileSync(pki.caFile), reconnectPeriod: 0, connectTimeout: 5000 });

  it('a valid client certificate connects with its CN as user name', async () => {
    const client = await within(
      mqtt.connectAsync(`wss://localhost:${port.wss}/mqtt`, {
        ...tlsOptions(),
        clientId: 'wss-valid',
        cert: readFileSync(pki.clients.valid.cert),
        key: readFileSync(pki.clients.valid.key),
      }),
      5000,
      'wss connect',
    );
    await client.endAsync();
    assert.equal(connectedAs('wss-valid')?.username, 'device-1');
  });

  it('a revoked client certificate is refused, counted as revoked', async () => {
    const before = failures().revoked ?? 0;
    await assert.rejects(
      within(
        mqtt.connectAsync(`wss://localhost:${port.wss}/mqtt`, {
          ...tlsOptions(),
          clientId: 'wss-revoked',
          cert: readFileSync(pki.clients.revoked.cert),
          key: readFileSync(pki.clients.revoked.key),
        }),
        5000,
        'wss revoked',
      ),
    );
    assert.equal(failures().revoked, before + 1);
  });
});
