// Refused devices learn why: on a listener that asks for client certificates, each certificate
// that fails (and no certificate where one is required) is refused with the TLS alert OpenSSL
// would send, on TLS 1.2 and 1.3, seen by openssl s_client and by mosquitto_pub, over mqtts and
// wss. The broker logs each refusal once with the reason and the alert, and counts it.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker, BrokerConfigInput } from '../../src/broker/index.js';
import { issueCertificate } from '../../src/pki/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { brokerWithListeners } from '../support/named-listeners.js';
import { run, within } from '../support/processes.js';

let pki: TestPki;
let broker: Broker;
const logs: Array<Record<string, unknown>> = [];
let port: Record<Name, number>;
/** An OpenSSL configuration that caps clients at TLS 1.2 (mosquitto_pub has no option for it). */
let tls12Only: string;

const names = ['required', 'chain', 'optional', 'depth', 'email', 'wss', 'suites'] as const;
const TLS13_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
];
type Name = (typeof names)[number];

before(async () => {
  pki = await createTestPki();
  tls12Only = join(pki.dir, 'tls12.cnf');
  writeFileSync(
    tls12Only,
    [
      'openssl_conf = conf',
      '[conf]',
      'ssl_conf = ssl',
      '[ssl]',
      'system_default = defaults',
      '[defaults]',
      'MaxProtocol = TLSv1.2',
    ].join('\n'),
  );
  const tls = (extra: Parameters<typeof mutualTls>[1] = {}) =>
    mutualTls(pki, { crlFiles: [pki.crlFile], usernameFrom: 'cn', ...extra });
  const listeners: Record<Name, BrokerConfigInput['listeners'][number]> = {
    required: { port: 0, tls: tls() },
    chain: { port: 0, tls: tls({ crlCheck: 'chain' }) },
    optional: { port: 0, tls: tls({ clientCertificates: 'optional' }), allowAnonymous: true },
    depth: { port: 0, tls: tls({ verifyDepth: 0 }) },
    email: { port: 0, tls: tls({ usernameFrom: 'san-email' }) },
    wss: { protocol: 'ws', port: 0, tls: tls() },
    suites: { port: 0, tls: tls({ ciphersTls13: TLS13_SUITES.join(':') }) },
  };
  ({ broker, port } = await brokerWithListeners(names, listeners, logs));
});
after(() => broker?.close());

const failures = () => broker.core.stats.handshakeFailures;
type Client = keyof TestPki['clients'] | 'none';
const certOf = (client: Client) => (client === 'none' ? undefined : pki.clients[client]);

/**
 * openssl s_client with the client's certificate; sends `input` and reads until the broker
 * closes (bytes that are not MQTT make an admitted client's connection close at once).
 */
function sClient(listener: Name, client: Client, version: '1.2' | '1.3', extra: string[] = [], input = '') {
  const cert = certOf(client);
  return run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port[listener]}`,
      '-servername',
      'localhost',
      '-CAfile',
      pki.caFile,
      version === '1.2' ? '-tls1_2' : '-tls1_3',
      '-ign_eof',
      // -cert sends the leaf alone; the file's intermediate goes with -cert_chain, as mosquitto_pub sends it.
      ...(cert ? ['-cert', cert.cert, '-cert_chain', cert.cert, '-key', cert.key] : []),
      ...extra,
    ],
    10_000,
    input,
  );
}

/** mosquitto_pub -d, which prints OpenSSL's error for the connection. */
function pub(listener: Name, client: Client, version: '1.2' | '1.3') {
  const cert = certOf(client);
  return run(
    'mosquitto_pub',
    [
      ...['-d', '-h', 'localhost', '-p', String(port[listener]), '-t', 'alerts', '-m', 'x'],
      ...['--cafile', pki.caFile, ...(cert ? ['--cert', cert.cert, '--key', cert.key] : [])],
    ],
    10_000,
    undefined,
    version === '1.2' ? { OPENSSL_CONF: tls12Only } : undefined,
  );
}

/** The refusal the broker logged for the n-th connection refused on a listener since `from`. */
function refusalsSince(from: number, listener: Name) {
  return logs
    .slice(from)
    .filter(
      (l) =>
        String(l.msg).startsWith('connection refused before MQTT') &&
        l.listener === `mqtts://127.0.0.1:${port[listener]}`,
    );
}

// client, listener, the reason logged and counted, the alert (TLS 1.3; TLS 1.2 where it differs).
const CASES: ReadonlyArray<readonly [Client, Name, string, string, string?]> = [
  ['expired', 'required', 'expired', 'certificate expired'],
  ['notYetValid', 'required', 'not yet valid', 'bad certificate'],
  ['revoked', 'required', 'revoked', 'certificate revoked'],
  ['revoked', 'chain', 'revoked', 'certificate revoked'],
  ['unknownCa', 'required', 'unknown CA', 'unknown ca'],
  ['fakeCa', 'required', 'unknown CA', 'unknown ca'],
  ['fakeCa', 'chain', 'unknown CA', 'unknown ca'],
  ['wrongKeyUsage', 'required', 'wrong key usage', 'unsupported certificate'],
  ['valid', 'depth', 'certificate chain too long', 'unknown ca'],
  ['valid', 'email', 'the certificate has no san-email', 'access denied'],
  ['none', 'required', 'no certificate', 'certificate required', 'handshake failure'],
  ['expired', 'optional', 'expired', 'certificate expired'],
];

describe('refused inside the handshake, with the alert that names the reason', () => {
  for (const [client, listener, reason, alert13, alert12 = alert13] of CASES) {
    for (const version of ['1.3', '1.2'] as const) {
      const alert = version === '1.3' ? alert13 : alert12;
      it(`TLS ${version}, ${client} on ${listener}: "${alert}" (${reason})`, async () => {
        const before = failures()[reason] ?? 0;
        const from = logs.length;
        const result = await sClient(listener, client, version);
        assert.match(result.stderr + result.stdout, new RegExp(`alert ${alert}`), result.stderr);
        const refusals = refusalsSince(from, listener);
        assert.equal(refusals.length, 1, JSON.stringify(refusals));
        assert.equal(refusals[0]!.reason, reason);
        assert.equal(refusals[0]!.alert, alert);
        assert.match(String(refusals[0]!.remote), /^127\.0\.0\.1:\d+$/);
        assert.equal(failures()[reason], before + 1);

        assert.equal(refusals[0]!.protocol, `TLSv${version}`);

        const published = await pub(listener, client, version);
        assert.notEqual(published.code, 0);
        assert.match(published.stderr + published.stdout, new RegExp(`alert ${alert}`));
        assert.equal(refusalsSince(from, listener)[1]?.protocol, `TLSv${version}`);
      });
    }
  }

  it('a valid certificate still connects through the same listeners, on both versions', async () => {
    for (const version of ['1.3', '1.2'] as const) {
      for (const listener of ['required', 'chain', 'optional'] as const) {
        const result = await pub(listener, 'valid', version);
        assert.equal(result.code, 0, `${listener} TLS ${version}: ${result.stderr}`);
      }
    }
    const anonymous = await pub('optional', 'none', '1.3');
    assert.equal(anonymous.code, 0, anonymous.stderr);
  });
});

describe('TLS 1.3: the alert is encrypted under each cipher suite OpenSSL offers', () => {
  for (const suite of TLS13_SUITES) {
    it(suite, async () => {
      const result = await sClient('suites', 'expired', '1.3', ['-ciphersuites', suite]);
      assert.match(result.stdout, new RegExp(`Cipher is ${suite}`));
      assert.match(result.stderr + result.stdout, /alert certificate expired/, result.stderr);
    });
  }
});

describe('wss: the same alerts over WebSocket', () => {
  it('openssl s_client on the wss port sees "certificate revoked" on TLS 1.2 and 1.3', async () => {
    for (const version of ['1.3', '1.2'] as const) {
      const result = await sClient('wss', 'revoked', version);
      assert.match(result.stderr + result.stdout, /alert certificate revoked/);
    }
  });

  it('MQTT.js over wss gets the alert as its error; a valid certificate connects', async () => {
    const options = (client: 'expired' | 'valid') => ({
      ca: readFileSync(pki.caFile),
      cert: readFileSync(pki.clients[client].cert),
      key: readFileSync(pki.clients[client].key),
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const url = `wss://localhost:${port.wss}/mqtt`;
    await assert.rejects(
      within(mqtt.connectAsync(url, options('expired')), 8000, 'wss expired'),
      (error: Error) => /certificate expired/i.test(`${(error as { code?: string }).code} ${error.message}`),
    );
    const client = await within(mqtt.connectAsync(url, options('valid')), 8000, 'wss valid');
    await client.endAsync();
  });
});

describe('a resumed session', () => {
  // Read to the end, so s_client has the session ticket (TLS 1.3 sends it after the handshake).
  const NOT_MQTT = 'not MQTT\n';
  /** A client certificate that expires a moment from now, and when. */
  async function briefCertificate(name: string) {
    const notAfter = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000);
    const issued = await issueCertificate(pki.intermediate, {
      name,
      kind: 'client',
      notBefore: new Date(Date.now() - 60_000),
      notAfter,
    });
    const cert = join(pki.dir, `${name}.crt`);
    const key = join(pki.dir, `${name}.key`);
    writeFileSync(cert, issued.fullChainPem);
    writeFileSync(key, issued.privateKeyPem);
    return { cert, key, notAfter };
  }
  const untilPast = (deadline: Date) =>
    new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline.getTime() - Date.now() + 100)));
  const withCert = (c: { cert: string; key: string }) => [
    '-cert',
    c.cert,
    '-cert_chain',
    c.cert,
    '-key',
    c.key,
  ];

  /** A handshake that saves its session; the certificate expires; a handshake that resumes it. */
  async function resumedAfterExpiry(version: '1.2' | '1.3') {
    const brief = await briefCertificate(`device-brief-${version}`);
    const session = join(pki.dir, `session-${version}.pem`);
    const first = await sClient(
      'required',
      'none',
      version,
      [...withCert(brief), '-sess_out', session],
      NOT_MQTT,
    );
    assert.match(first.stdout, new RegExp(`^New, TLSv${version.replace('.', '\\.')}`, 'm'), first.stderr);
    await untilPast(brief.notAfter);
    const from = logs.length;
    const resumed = await sClient('required', 'none', version, [...withCert(brief), '-sess_in', session]);
    assert.match(resumed.stdout, /^Reused, /m);
    return { brief, resumed, refusal: refusalsSince(from, 'required')[0] };
  }

  it('TLS 1.2, certificate expired since the first handshake: refused without an alert, the log says why', async () => {
    const { brief, refusal } = await resumedAfterExpiry('1.2');
    assert.equal(refusal?.reason, 'expired');
    assert.match(String(refusal?.alert), /^none \(a resumed TLS 1\.2 session/);
    // A full handshake with the same certificate gets its alert.
    const fresh = await sClient('required', 'none', '1.2', withCert(brief));
    assert.match(fresh.stderr + fresh.stdout, /alert certificate expired/);
  });

  it('TLS 1.3, certificate expired since the first handshake: refused with "certificate expired"', async () => {
    const { resumed, refusal } = await resumedAfterExpiry('1.3');
    assert.match(resumed.stderr + resumed.stdout, /alert certificate expired/);
    assert.equal(refusal?.reason, 'expired');
    assert.equal(refusal?.alert, 'certificate expired');
  });
});
