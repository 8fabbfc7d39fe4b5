// The admin listener over real HTTP: the bearer token (refused without it or with a wrong one,
// never logged), /healthz and /readyz, and /metrics checked by Debian's promtool, with values
// that follow what real clients (mosquitto_pub, openssl s_client) did to a real broker.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { issueCertificate } from '../../src/pki/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { run, start, until, within } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-admin-'));
const TOKEN = 'admin-token-5b1f0c7e9d';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`);
let pki: TestPki;
let broker: Broker;
const logLines: string[] = [];

before(async () => {
  pki = await createTestPki();
  broker = await createBroker(
    {
      listeners: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0, tls: mutualTls(pki, { crlFiles: [pki.crlFile] }) },
      ],
      allowAnonymous: true,
      sysInterval: 0,
      admin: { port: 0, tokenFile },
    },
    pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
  );
});
after(() => broker?.close());

const adminUrl = (path: string) => `${broker.admin!.url}${path}`;
/** GET with the token, another token, or none (null). */
const get = (path: string, token: string | null = TOKEN) =>
  fetch(adminUrl(path), token === null ? {} : { headers: { authorization: `Bearer ${token}` } });

/** The value of one series in a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const found = Object.fromEntries(
      [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('the admin listener', () => {
  it('refuses every request without the bearer token, or with a wrong one: 401 JSON', async () => {
    for (const [path, token] of [
      ['/metrics', null],
      ['/healthz', null],
      ['/metrics', 'wrong'],
      ['/readyz', `${TOKEN}x`],
    ] as const) {
      const response = await get(path, token);
      assert.equal(response.status, 401, `${path} with ${token}`);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'unauthorized');
    }
    assert.ok(!logLines.some((line) => line.includes(TOKEN)), 'the token is in no log line');
  });

  it('/healthz and /readyz answer once the broker is up; an unknown path is a JSON 404', async () => {
    assert.deepEqual(await (await get('/healthz')).json(), { status: 'ok' });
    const ready = await get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
    const missing = await get('/nope');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    const wrongMethod = await fetch(adminUrl('/metrics'), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(wrongMethod.status, 405);
  });

  it('/metrics passes promtool check metrics and counts what clients did', async () => {
    const tlsPort = broker.listeners[1]!.port;
    const tlsListener = broker.listeners[1]!.url;
    const plainPort = String(broker.listeners[0]!.port);
    for (const qos of ['0', '1', '1'])
      assert.equal(
        (await run('mosquitto_pub', ['-p', plainPort, '-t', 'm/t', '-m', 'x', '-q', qos])).code,
        0,
      );
    const valid = await run('mosquitto_pub', [
      ...['-h', 'localhost', '-p', String(tlsPort), '--cafile', pki.caFile, '-t', 'm/tls', '-m', 'x'],
      ...['--cert', pki.clients.valid.cert, '--key', pki.clients.valid.key],
    ]);
    assert.equal(valid.code, 0, valid.stderr);
    const expired = await run('mosquitto_pub', [
      ...['-h', 'localhost', '-p', String(tlsPort), '--cafile', pki.caFile, '-t', 'm/tls', '-m', 'x'],
      ...['--cert', pki.clients.expired.cert, '--key', pki.clients.expired.key],
    ]);
    assert.notEqual(expired.code, 0);

    const response = await get('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const checked = await run('promtool', ['check', 'metrics'], 20_000, text);
    assert.equal(checked.code, 0, `${checked.stdout}${checked.stderr}`);
    assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '', 'no lint findings');

    assert.equal(
      sample(text, 'warden_messages_received_total', { qos: '0' }),
      2,
      'one over TCP, one over TLS',
    );
    assert.equal(sample(text, 'warden_messages_received_total', { qos: '1' }), 2);
    assert.equal(sample(text, 'warden_messages_dropped_total', { reason: 'no_subscribers' }), 4);
    assert.equal(sample(text, 'warden_tls_handshakes_total', { listener: tlsListener }), 1);
    assert.equal(
      sample(text, 'warden_tls_handshake_failures_total', { listener: tlsListener, reason: 'expired' }),
      1,
    );
    assert.equal(sample(text, 'warden_tls_handshake_duration_seconds_count', { listener: tlsListener }), 1);
    const expiry = sample(text, 'warden_tls_certificate_expiry_timestamp_seconds', {
      listener: tlsListener,
      role: 'server',
    });
    const served = new X509Certificate(pki.servers.valid.certificatePem);
    assert.equal(expiry, new Date(served.validTo).getTime() / 1000);
    assert.ok(
      sample(text, 'warden_tls_certificate_expiry_timestamp_seconds', { listener: tlsListener, role: 'ca' }),
    );
    assert.equal(
      sample(text, 'warden_connections', { listener: broker.listeners[0]!.url, protocol: 'mqtt' }),
      0,
    );
    assert.equal(sample(text, 'warden_sessions', { state: 'connected' }), 0);
    assert.ok((sample(text, 'warden_bytes_received_total') ?? 0) > 0);
    assert.ok(sample(text, 'process_cpu_seconds_total') !== undefined, "Node's default metrics");
  });
});

describe('admin listener configuration', () => {
  it('beyond loopback it needs a token file and TLS; a missing token file is named', async () => {
    await assert.rejects(
      createBroker(
        { listeners: [{ port: 0 }], admin: { host: '0.0.0.0', port: 0 } },
        pino({ level: 'silent' }),
      ),
      (error: Error) =>
        /admin\.tokenFile: an admin listener beyond loopback needs a tokenFile/.test(error.message) &&
        /admin\.tls: an admin listener beyond loopback needs tls/.test(error.message),
    );
    await assert.rejects(
      createBroker(
        { listeners: [{ host: '127.0.0.1', port: 0 }], admin: { port: 0, tokenFile: join(dir, 'missing') } },
        pino({ level: 'silent' }),
      ),
      /admin: token file .*missing: no such file/,
    );
  });
});

describe('the admin API', () => {
  const json = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(adminUrl(path), {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) },
    });
    // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field below
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('lists connected clients with their TLS certificate, pages and filters them, and refuses a bad limit', async () => {
    const tlsPort = String(broker.listeners[1]!.port);
    const device = start('mosquitto_sub', [
      ...[
        '-h',
        'localhost',
        '-p',
        tlsPort,
        '--cafile',
        pki.caFile,
        '-i',
        'api-device',
        '-t',
        'api/#',
        '-q',
        '1',
      ],
      ...['--cert', pki.clients.valid.cert, '--key', pki.clients.valid.key],
    ]);
    const plain = await Promise.all(
      ['api-a', 'api-b', 'api-c'].map((clientId) =>
        within(
          mqtt.connectAsync(`mqtt://127.0.0.1:${broker.listeners[0]!.port}`, {
            clientId,
            username: clientId === 'api-b' ? 'bee' : undefined,
            reconnectPeriod: 0,
          }),
          5000,
          clientId,
        ),
      ),
    );
    try {
      await until(
        'the device subscribed',
        () => broker.core.sessions.get('api-device')?.subscriptionCount === 1,
        5000,
      );
      const all = await json('/api/clients?prefix=api-');
      assert.equal(all.status, 200);
      assert.equal(all.body.total, 4);
      const dev = all.body.clients.find((c: { clientId: string }) => c.clientId === 'api-device');
      assert.equal(dev.tls.version, 'TLSv1.3');
      assert.match(dev.tls.certificate.subject, /CN=device-1/);
      assert.ok(dev.tls.certificate.daysLeft > 300, String(dev.tls.certificate.daysLeft));
      assert.equal(dev.subscriptions, 1);
      const page = await json('/api/clients?prefix=api-&offset=1&limit=2');
      assert.deepEqual(
        page.body.clients.map((c: { clientId: string }) => c.clientId),
        ['api-b', 'api-c'],
      );
      assert.equal((await json('/api/clients?user=bee')).body.clients[0].clientId, 'api-b');
      const one = await json('/api/clients/api-device');
      assert.deepEqual(one.body.subscriptions, [
        { filter: 'api/#', qos: 1, noLocal: false, retainAsPublished: false },
      ]);
      const bad = await json('/api/clients?limit=lots');
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /"limit" must be a whole number/);
      assert.equal((await json('/api/clients/nobody')).status, 404);
      // The id in the path is decoded once: "%2525" is a client id holding "%25".
      const encoded = await json('/api/clients/api%2525x');
      assert.equal(encoded.body.error.message, 'no connected client "api%25x"');
    } finally {
      await device.stop();
      await Promise.all(plain.map((c) => c.endAsync()));
    }
  });

  it('counts connected devices whose certificate expires within 7 and 30 days', async () => {
    const soon = await issueCertificate(pki.intermediate, { name: 'device-soon', kind: 'client', days: 3 });
    const cert = join(dir, 'soon.crt');
    const key = join(dir, 'soon.key');
    writeFileSync(cert, soon.fullChainPem);
    writeFileSync(key, soon.privateKeyPem);
    const device = start('mosquitto_sub', [
      ...['-h', 'localhost', '-p', String(broker.listeners[1]!.port), '--cafile', pki.caFile],
      ...['--cert', cert, '--key', key, '-i', 'soon-device', '-t', 'soon/#'],
    ]);
    try {
      await until(
        'the device subscribed',
        () => broker.core.sessions.get('soon-device')?.subscriptionCount === 1,
        5000,
      );
      const text = await (await get('/metrics')).text();
      const listener = broker.listeners[1]!.url;
      assert.equal(sample(text, 'warden_client_certificates_expiring', { listener, within: '7d' }), 1);
      assert.equal(sample(text, 'warden_client_certificates_expiring', { listener, within: '30d' }), 1);
      const listed = await json('/api/clients/soon-device');
      assert.ok(listed.body.tls.certificate.daysLeft <= 3, String(listed.body.tls.certificate.daysLeft));
    } finally {
      await device.stop();
    }
  });

  it('DELETE /api/clients/:id disconnects it with DISCONNECT 0x98 (administrative action)', async () => {
    const client = await within(
      mqtt.connectAsync(`mqtt://127.0.0.1:${broker.listeners[0]!.port}`, {
        clientId: 'to-kick',
        protocolVersion: 5,
        reconnectPeriod: 0,
      }),
      5000,
      'to-kick',
    );
    const told = new Promise<number>((resolve) =>
      client.once('disconnect', (packet: { reasonCode?: number }) => resolve(packet.reasonCode ?? -1)),
    );
    const kicked = await json('/api/clients/to-kick', { method: 'DELETE' });
    assert.deepEqual(kicked.body, { disconnected: 'to-kick' });
    assert.equal(await within(told, 5000, 'the DISCONNECT'), 0x98);
    client.end(true);
  });

  it('listeners with their certificates, reload, retained messages and $SYS stats', async () => {
    const listeners = await json('/api/listeners');
    const tls = listeners.body.listeners[1].tls;
    assert.equal(tls.clientCertificates, 'required');
    assert.match(tls.certificates[0].subject, /CN=localhost/);
    assert.ok(tls.certificates[0].daysLeft > 300);
    assert.match(tls.trustedCas[0].subject, /CN=Warden Test Root/);
    const reloaded = await json('/api/reload', { method: 'POST' });
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    assert.equal(reloaded.body.tls[0].ok, true);
    assert.equal((await json('/api/listeners')).body.listeners[1].tls.lastReload.ok, true);

    const plainPort = String(broker.listeners[0]!.port);
    assert.equal(
      (await run('mosquitto_pub', ['-p', plainPort, '-t', 'kept/a', '-m', 'hello', '-r'])).code,
      0,
    );
    const retained = await json('/api/retained?filter=kept/%23');
    assert.equal(retained.body.total, 1);
    assert.deepEqual(retained.body.messages[0], { topic: 'kept/a', qos: 0, bytes: 5, preview: 'hello' });
    assert.equal((await json('/api/retained?filter=a/%23/b')).status, 400);
    assert.deepEqual((await json('/api/retained?topic=kept/a', { method: 'DELETE' })).body, {
      cleared: 'kept/a',
    });
    assert.equal((await json('/api/retained?filter=kept/%23')).body.total, 0);
    const stats = await json('/api/stats');
    assert.match(stats.body['$SYS/broker/uptime'], /^\d+ seconds$/);
    assert.ok(Number(stats.body['$SYS/broker/messages/received']) > 0);
  });
});

describe('the admin listener over HTTPS', () => {
  it("takes a broker listener's tls block: a client that trusts the CA gets /healthz, the token still asked for", async () => {
    const secured = await createBroker(
      {
        listeners: [{ host: '127.0.0.1', port: 0 }],
        sysInterval: 0,
        admin: {
          port: 0,
          tokenFile,
          tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
        },
      },
      pino({ level: 'silent' }),
    );
    try {
      assert.match(secured.admin!.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ask = (token?: string) =>
        new Promise<{ status: number; body: string; protocol: string }>((resolve, reject) => {
          const request = httpsGet(
            `${secured.admin!.url.replace('127.0.0.1', 'localhost')}/healthz`,
            {
              ca: readFileSync(pki.caFile),
              agent: false,
              headers: token ? { authorization: `Bearer ${token}` } : {},
            },
            (response) => {
              const protocol = (response.socket as import('node:tls').TLSSocket).getProtocol() ?? '';
              let body = '';
              response.on('data', (chunk) => (body += chunk));
              response.on('end', () => resolve({ status: response.statusCode ?? 0, body, protocol }));
            },
          );
          request.on('error', reject);
        });
      const refused = await ask();
      assert.equal(refused.status, 401);
      const answered = await ask(TOKEN);
      assert.equal(answered.status, 200);
      assert.deepEqual(JSON.parse(answered.body), { status: 'ok' });
      assert.match(answered.protocol, /^TLSv1\.[23]$/);
    } finally {
      await secured.close();
    }
  });
});
