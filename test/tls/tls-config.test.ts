// TLS channels configured as users write them (Mosquitto's directives), and the startup errors
// that name the listener and the file: missing file, key not matching, expired certificate.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import pino from 'pino';
import { tlsSchema } from '../../src/broker/config/config-schema.js';
import { TlsChannel } from '../../src/broker/edge/tls-channel.js';
import { handshakeFailureReason, verificationFailureReason } from '../../src/broker/edge/tls-failure.js';
import { type ConfigError, loadConfigFile } from '../../src/broker/index.js';
import { createCrl, issueCertificate } from '../../src/pki/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { ManualClock } from '../support/manual-clock.js';
import { createBroker } from '../support/memory-broker.js';
import { run, until } from '../support/processes.js';

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});
const silent = pino({ level: 'silent' });
const file = (name: string, text: string) => {
  const path = join(pki.dir, name);
  writeFileSync(path, text);
  return path;
};

describe('mosquitto.conf TLS directives', () => {
  it('certfile, keyfile, cafile, require_certificate, use_identity_as_username, crlfile: a working mqtts channel', async () => {
    const conf = file(
      'tls.conf',
      [
        'listener 0 127.0.0.1',
        `certfile ${pki.servers.valid.cert}`,
        `keyfile ${pki.servers.valid.key}`,
        `cafile ${pki.caFile}`,
        'require_certificate true',
        'use_identity_as_username true',
        `crlfile ${pki.crlFile}`,
        'tls_version tlsv1.2',
        'allow_anonymous false',
        'sys_interval 0',
      ].join('\n'),
    );
    const config = await loadConfigFile(conf);
    assert.deepEqual(config.listeners[0]?.tls?.clientCertificates, 'required');
    assert.equal(config.listeners[0]?.tls?.usernameFrom, 'cn');
    const broker = await createBroker(config, silent);
    try {
      const port = String(broker.listeners[0]!.port);
      assert.equal(broker.listeners[0]!.protocol, 'mqtts');
      const pub = (client: { cert: string; key: string }) =>
        run('mosquitto_pub', [
          '-h',
          'localhost',
          '-p',
          port,
          '--cafile',
          pki.caFile,
          '--cert',
          client.cert,
          '--key',
          client.key,
          '-t',
          't',
          '-m',
          'x',
        ]);
      const ok = await pub(pki.clients.valid);
      assert.equal(ok.code, 0, 'a certificate authenticates even with allow_anonymous false');
      assert.notEqual((await pub(pki.clients.revoked)).code, 0);
      assert.equal(broker.core.stats.handshakeFailures.revoked, 1);
    } finally {
      await broker.close();
    }
  });

  it('names file:line of a TLS version warden does not speak, and of a keyfile without certfile', async () => {
    const conf = file(
      'bad-tls.conf',
      ['listener 8883', 'tls_version tlsv1.1', 'listener 8884', `keyfile ${pki.servers.valid.key}`].join(
        '\n',
      ),
    );
    await assert.rejects(loadConfigFile(conf), (error: ConfigError) => {
      assert.match(error.problems[0]!, new RegExp(`${conf}:2: tls_version: "tlsv1.1" is not supported`));
      return true;
    });
    const half = file('half-tls.conf', ['listener 8884', `keyfile ${pki.servers.valid.key}`].join('\n'));
    await assert.rejects(
      loadConfigFile(half),
      new RegExp(`${half}:2: listeners\\[0\\]\\.tls\\.keyFile: certFile and keyFile go together`),
    );
  });
});

describe('verification depth and ECDH groups', () => {
  it('a client chain deeper than verifyDepth is refused; the ECDH group is the one configured', async () => {
    const base = mutualTls(pki);
    const broker = await createBroker(
      {
        listeners: [
          { host: '127.0.0.1', port: 0, tls: { ...base, verifyDepth: 0 } },
          { host: '127.0.0.1', port: 0, tls: { ...base, verifyDepth: 1, ecdhCurves: 'P-384' } },
        ],
        sysInterval: 0,
      },
      silent,
    );
    try {
      const pub = (i: number) =>
        run('mosquitto_pub', [
          '-h',
          'localhost',
          '-p',
          String(broker.listeners[i]!.port),
          '--cafile',
          pki.caFile,
          '--cert',
          pki.clients.valid.cert,
          '--key',
          pki.clients.valid.key,
          '-t',
          't',
          '-m',
          'x',
        ]);
      assert.notEqual((await pub(0)).code, 0, 'leaf -> intermediate -> root has one intermediate');
      assert.equal(broker.core.stats.handshakeFailures['certificate chain too long'], 1);
      assert.equal((await pub(1)).code, 0);
      const s = await run(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${broker.listeners[1]!.port}`,
          '-CAfile',
          pki.caFile,
          '-servername',
          'localhost',
          '-cert',
          pki.clients.valid.cert,
          '-key',
          pki.clients.valid.key,
        ],
        10_000,
        '',
      );
      assert.match(s.stdout, /secp384r1|P-384/);
    } finally {
      await broker.close();
    }
  });
});

/** A logger at warn level that keeps each line's message, for asserting what the broker warned about. */
function warningLog(): { logger: pino.Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(JSON.parse(line).msg) },
  );
  return { logger, warnings };
}

/** What `openssl s_client -status` says of the OCSP answer stapled by the broker on `port`. */
async function status(port: number): Promise<string> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-status'];
  return (await run('openssl', [...args, '-CAfile', pki.caFile], 10_000, '')).stdout;
}

/**
 * An OCSP answer made by `openssl ocsp`, signed by the intermediate CA, from an index holding one
 * certificate (good or revoked): about `cert`, or answering a DER request file.
 */
async function ocspAnswer(
  name: string,
  serial: string,
  status: 'good' | 'revoked',
  question: { cert: string } | { request: string },
) {
  const entry = status === 'good' ? 'V\t491231235959Z\t' : 'R\t491231235959Z\t261101000000Z';
  const index = file(`${name}-index.txt`, `${entry}\t${serial.toUpperCase()}\tunknown\t/CN=localhost\n`);
  const caCert = file(`${name}-int.crt`, pki.intermediate.certificatePem);
  const caKey = file(`${name}-int.key`, pki.intermediate.privateKeyPem);
  const response = join(pki.dir, `${name}.der`);
  const asked =
    'cert' in question ? ['-issuer', caCert, '-cert', question.cert] : ['-reqin', question.request];
  const made = await run('openssl', [
    'ocsp',
    '-index',
    index,
    '-rsigner',
    caCert,
    '-rkey',
    caKey,
    '-CA',
    caCert,
    ...asked,
    '-respout',
    response,
    '-ndays',
    '1',
  ]);
  return { ...made, response };
}

describe('OCSP stapling', () => {
  it('staples the configured OCSP response; openssl s_client -status sees the certificate good', async () => {
    const leaf = pki.servers.valid;
    const { response, ...made } = await ocspAnswer('ocsp', leaf.serialNumber, 'good', { cert: leaf.cert });
    assert.equal(made.code, 0, made.stderr);
    const broker = await createBroker(
      {
        listeners: [
          {
            host: '127.0.0.1',
            port: 0,
            tls: { certFile: leaf.cert, keyFile: leaf.key, ocspResponseFile: response },
          },
        ],
        sysInterval: 0,
      },
      silent,
    );
    try {
      const stapled = await status(broker.listeners[0]!.port);
      assert.match(stapled, /OCSP Response Status: successful/);
      assert.match(stapled, /Cert Status: good/);
    } finally {
      await broker.close();
    }
    await assert.rejects(
      createBroker(
        {
          listeners: [
            {
              host: '127.0.0.1',
              port: 0,
              tls: { certFile: leaf.cert, keyFile: leaf.key, ocspResponseFile: leaf.cert },
            },
          ],
        },
        silent,
      ),
      /OCSP response file .*server\.crt: not a DER OCSP response/,
    );
  });
});

describe('OCSP stapling from a responder', () => {
  /**
   * An OCSP responder on 127.0.0.1: each answer is made by `openssl ocsp` from an index file
   * (openssl's own -port mode binds every interface). `mode` says what it answers.
   */
  async function responder() {
    const state = { mode: 'down' as 'down' | 'good' | 'revoked', requests: 0, serial: '' };
    const server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (chunk: Buffer) => body.push(chunk));
      req.on('end', async () => {
        state.requests += 1;
        if (state.mode === 'down') return res.writeHead(503).end();
        const request = file('ocsp-request.der', '');
        writeFileSync(request, Buffer.concat(body));
        const { response: answer, ...made } = await ocspAnswer('ocsp-answer', state.serial, state.mode, {
          request,
        });
        if (made.code !== 0) return res.writeHead(500).end(made.stderr);
        res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(readFileSync(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return { state, url, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('fetches from the URL in the certificate; a responder that is down costs only the staple; a reload fetches again', async () => {
    const ocsp = await responder();
    const leaf = await issueCertificate(pki.intermediate, {
      name: 'localhost',
      kind: 'server',
      hosts: ['localhost'],
      ocspUrls: [ocsp.url],
    });
    ocsp.state.serial = leaf.serialNumber;
    const certFile = file('ocsp-server.crt', leaf.fullChainPem);
    const keyFile = file('ocsp-server.key', leaf.privateKeyPem);
    const logs: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) });
    const broker = await createBroker(
      {
        listeners: [
          { host: '127.0.0.1', port: 0, tls: { certFile, keyFile, ocspResponderUrl: 'certificate' } },
        ],
        sysInterval: 0,
      },
      logger,
    );
    try {
      const port = broker.listeners[0]!.port;
      assert.equal(ocsp.state.requests, 1, 'asked at start');
      assert.match(logs.join(''), /answered HTTP 503.*OCSP fetch failed; no staple/);
      assert.match(await status(port), /OCSP response: no response sent/);

      ocsp.state.mode = 'good';
      await broker.reloadTls();
      assert.equal(ocsp.state.requests, 2);
      const good = await status(port);
      assert.match(good, /OCSP Response Status: successful/);
      assert.match(good, /Cert Status: good/);

      ocsp.state.mode = 'down';
      await broker.reloadTls();
      assert.match(await status(port), /Cert Status: good/, 'the last good answer stays while valid');

      ocsp.state.mode = 'revoked';
      await broker.reloadTls();
      assert.match(await status(port), /Cert Status: revoked/);
      assert.match(logs.join(''), /the OCSP responder says the server certificate is revoked/);
    } finally {
      await broker.close();
      await ocsp.close();
    }
  });

  it('start errors: no responder in the certificate; a response file about another certificate', async () => {
    const leaf = pki.servers.valid;
    await assert.rejects(
      createBroker(
        {
          listeners: [
            {
              host: '127.0.0.1',
              port: 0,
              tls: { certFile: leaf.cert, keyFile: leaf.key, ocspResponderUrl: 'certificate' },
            },
          ],
        },
        silent,
      ),
      /ocspResponderUrl is "certificate" but the server certificate names no OCSP responder/,
    );
    // An answer openssl made for the RSA server certificate, configured for the ECDSA one.
    const other = pki.servers.rsa;
    const { response, ...made } = await ocspAnswer('other-ocsp', other.serialNumber, 'good', {
      cert: other.cert,
    });
    assert.equal(made.code, 0, made.stderr);
    await assert.rejects(
      createBroker(
        {
          listeners: [
            {
              host: '127.0.0.1',
              port: 0,
              tls: { certFile: leaf.cert, keyFile: leaf.key, ocspResponseFile: response },
            },
          ],
        },
        silent,
      ),
      /OCSP response file .*other-ocsp\.der: the response is about another certificate/,
    );
  });
});

describe('SNI', () => {
  it('several certificates on one listener, chosen by the name the client asks for', async () => {
    const other = await issueCertificate(pki.intermediate, {
      name: 'broker.example.com',
      kind: 'server',
      hosts: ['broker.example.com'],
    });
    const wildcard = await issueCertificate(pki.intermediate, {
      name: 'fleet',
      kind: 'server',
      hosts: ['*.fleet.example'],
    });
    const broker = await createBroker(
      {
        listeners: [
          {
            host: '127.0.0.1',
            port: 0,
            tls: {
              certFile: pki.servers.valid.cert,
              keyFile: pki.servers.valid.key,
              sni: [
                {
                  hosts: ['broker.example.com'],
                  certFile: file('sni.crt', other.fullChainPem),
                  keyFile: file('sni.key', other.privateKeyPem),
                },
                {
                  hosts: ['*.fleet.example'],
                  certFile: file('fleet.crt', wildcard.fullChainPem),
                  keyFile: file('fleet.key', wildcard.privateKeyPem),
                },
              ],
            },
          },
        ],
        allowAnonymous: true,
        sysInterval: 0,
      },
      silent,
    );
    try {
      const port = String(broker.listeners[0]!.port);
      const subjectFor = async (servername: string) => {
        const r = await run(
          'openssl',
          [
            's_client',
            '-connect',
            `127.0.0.1:${port}`,
            '-servername',
            servername,
            '-CAfile',
            pki.caFile,
            '-verify_hostname',
            servername,
          ],
          10_000,
          '',
        );
        return {
          subject: r.stdout.match(/^subject=(.*)$/m)?.[1],
          verified: /Verify return code: 0 \(ok\)/.test(r.stdout),
        };
      };
      assert.deepEqual(await subjectFor('broker.example.com'), {
        subject: 'CN = broker.example.com',
        verified: true,
      });
      assert.deepEqual(await subjectFor('truck-9.fleet.example'), { subject: 'CN = fleet', verified: true });
      assert.deepEqual(await subjectFor('localhost'), { subject: 'CN = localhost', verified: true });
    } finally {
      await broker.close();
    }
  });
});

describe('PKCS#12 server identity', () => {
  it('passphrase from a file or an environment variable; a wrong one or an unset variable is named', async () => {
    const pfxFile = join(pki.dir, 'server.p12');
    const exported = await run('openssl', [
      'pkcs12',
      '-export',
      '-in',
      pki.servers.valid.cert,
      '-inkey',
      pki.servers.valid.key,
      '-out',
      pfxFile,
      '-passout',
      'pass:s3cret',
    ]);
    assert.equal(exported.code, 0, exported.stderr);
    const passphraseFile = file('p12-pass', 's3cret\n');
    const broker = await createBroker(
      {
        listeners: [{ host: '127.0.0.1', port: 0, tls: { pfxFile, passphraseFile } }],
        allowAnonymous: true,
        sysInterval: 0,
      },
      silent,
    );
    try {
      const pub = await run('mosquitto_pub', [
        '-h',
        'localhost',
        '-p',
        String(broker.listeners[0]!.port),
        '--cafile',
        pki.caFile,
        '-t',
        't',
        '-m',
        'x',
      ]);
      assert.equal(pub.code, 0, pub.stderr);
    } finally {
      await broker.close();
    }
    process.env.WARDEN_TEST_P12 = 's3cret';
    const viaEnv = await createBroker(
      {
        listeners: [{ host: '127.0.0.1', port: 0, tls: { pfxFile, passphraseEnv: 'WARDEN_TEST_P12' } }],
        sysInterval: 0,
      },
      silent,
    );
    await viaEnv.close();
    await assert.rejects(
      createBroker(
        {
          listeners: [
            { host: '127.0.0.1', port: 0, tls: { pfxFile, passphraseFile: file('bad-pass', 'nope') } },
          ],
        },
        silent,
      ),
      /listener mqtts:\/\/127\.0\.0\.1:0: PKCS#12 file .*server\.p12: wrong passphrase/,
    );
    await assert.rejects(
      createBroker(
        { listeners: [{ host: '127.0.0.1', port: 0, tls: { pfxFile, passphraseEnv: 'WARDEN_TEST_UNSET' } }] },
        silent,
      ),
      /environment variable WARDEN_TEST_UNSET is not set/,
    );
  });
});

describe('anonymous cipher suites', () => {
  it('only behind the switch: then openssl connects without a certificate, and the start warns loudly', async () => {
    const { logger, warnings } = warningLog();
    const broker = await createBroker(
      {
        listeners: [
          { host: '127.0.0.1', port: 0, tls: { anonymousCiphers: true } },
          {
            host: '127.0.0.1',
            port: 0,
            tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
          },
        ],
        sysInterval: 0,
      },
      logger,
    );
    try {
      const anon = ['-cipher', 'aNULL:@SECLEVEL=0', '-tls1_2'];
      const on = await run(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${broker.listeners[0]!.port}`, ...anon],
        10_000,
        '',
      );
      assert.match(on.stdout, /Cipher is A(EC)?DH-/);
      assert.ok(
        warnings.some((w) => /ANONYMOUS CIPHER SUITES ARE ON/.test(w)),
        warnings.join('\n'),
      );
      const off = await run(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${broker.listeners[1]!.port}`, ...anon],
        10_000,
        '',
      );
      assert.match(off.stdout, /Cipher is \(NONE\)/);
      assert.equal(broker.core.stats.handshakeFailures['no shared cipher'], 1);
    } finally {
      await broker.close();
    }
  });

  it('refused with required client certificates, and as a cipher list without the switch', async () => {
    const tls = { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key, caFile: pki.caFile };
    await assert.rejects(
      createBroker(
        { listeners: [{ port: 0, tls: { ...tls, anonymousCiphers: true, clientCertificates: 'required' } }] },
        silent,
      ),
      /listeners\[0\]\.tls\.anonymousCiphers: anonymousCiphers cannot go with clientCertificates required/,
    );
    await assert.rejects(
      createBroker(
        { listeners: [{ port: 0, tls: { ...tls, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:aNULL' } }] },
        silent,
      ),
      /listeners\[0\]\.tls\.ciphers: anonymous cipher suites only with anonymousCiphers: true/,
    );
  });
});

const DAY = 86_400_000;

describe('startup errors name the listener and the file', () => {
  const start = (tls: Record<string, unknown>) =>
    createBroker({ listeners: [{ host: '127.0.0.1', port: 0, tls }], sysInterval: 0 }, silent);

  it('a missing certificate file', async () => {
    await assert.rejects(
      start({ certFile: join(pki.dir, 'nope.crt'), keyFile: pki.servers.valid.key }),
      /listener mqtts:\/\/127\.0\.0\.1:0: certificate file .*nope\.crt: no such file/,
    );
  });

  it('a key that does not match the certificate', async () => {
    await assert.rejects(
      start({ certFile: pki.servers.valid.cert, keyFile: pki.servers.rsa.key }),
      /key file .*server-rsa\.key does not match the certificate in .*server\.crt/,
    );
  });

  it('an expired server certificate, and one not yet valid, with refuseExpiredCertificate', async () => {
    const refuse = { refuseExpiredCertificate: true };
    await assert.rejects(
      start({ certFile: pki.servers.expired.cert, keyFile: pki.servers.expired.key, ...refuse }),
      /certificate .*server-expired\.crt expired on \d{4}-/,
    );
    await assert.rejects(
      start({ certFile: pki.servers.notYetValid.cert, keyFile: pki.servers.notYetValid.key, ...refuse }),
      /is not valid before \d{4}-/,
    );
  });

  it('by default an expired certificate does not stop the broker: its other listeners serve, $SYS says so, and it recovers when the file is renewed', async () => {
    const certFile = file('renew-me.crt', readFileSync(pki.servers.expired.cert, 'utf8'));
    const keyFile = file('renew-me.key', readFileSync(pki.servers.expired.key, 'utf8'));
    const records: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) });
    const broker = await createBroker(
      {
        listeners: [
          { host: '127.0.0.1', port: 0, tls: { certFile, keyFile } },
          {
            host: '127.0.0.1',
            port: 0,
            tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
          },
        ],
        allowAnonymous: true,
        sysInterval: 1,
      },
      logger,
    );
    const [expiredPort, validPort] = broker.listeners.map((l) => l.port);
    const publish = (listener: number) =>
      run('mosquitto_pub', [
        ...['-h', 'localhost', '-p', String(broker.listeners[listener]!.port), '--cafile', pki.caFile],
        ...['-t', 'renew/t', '-m', 'x'],
      ]);
    try {
      assert.ok(
        records.some((r) => r.level === 50 && /renew-me\.crt expired on .*serving it anyway/.test(r.msg)),
        'logged as an error',
      );
      assert.equal((await publish(1)).code, 0, 'the other listener serves');
      assert.notEqual((await publish(0)).code, 0, 'a client that verifies refuses the expired certificate');
      const sys = await run('mosquitto_sub', [
        ...['-h', 'localhost', '-p', String(validPort), '--cafile', pki.caFile],
        ...['-t', '$SYS/broker/tls/#', '-v', '-C', '4', '-W', '10'],
      ]);
      assert.match(
        sys.stdout,
        new RegExp(`^\\$SYS/broker/tls/${expiredPort}/certificate/0/status expired$`, 'm'),
      );
      assert.match(sys.stdout, new RegExp(`^\\$SYS/broker/tls/${validPort}/certificate/0/status ok$`, 'm'));
      assert.match(
        sys.stdout,
        new RegExp(`^\\$SYS/broker/tls/${expiredPort}/certificate/0/expires \\d{4}-`, 'm'),
      );
      // The renewed files, as certbot writes them: the watch reloads the listener.
      writeFileSync(certFile, readFileSync(pki.servers.valid.cert, 'utf8'));
      writeFileSync(keyFile, readFileSync(pki.servers.valid.key, 'utf8'));
      await until('the renewed certificate reloaded', () =>
        records.some((r) => r.msg === 'TLS material reloaded'),
      );
      const renewed = await publish(0);
      assert.equal(renewed.code, 0, renewed.stderr);
    } finally {
      await broker.close();
    }
  });

  it('an out-of-date certificate is logged again every day; one that expires while served becomes an error then', async () => {
    const records: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) });
    const errorsLogged = () => records.filter((r) => r.level === 50).length;
    const clock = new ManualClock(Date.now());
    const expired = await TlsChannel.open(
      'mqtts://127.0.0.1:1',
      tlsSchema.parse({}),
      { certFile: pki.servers.expired.cert, keyFile: pki.servers.expired.key },
      logger,
      clock,
    );
    // Valid today, expired in 40 days' time.
    const soon = await issueCertificate(pki.intermediate, { name: 'localhost', kind: 'server', days: 40 });
    const later = await TlsChannel.open(
      'mqtts://127.0.0.1:2',
      tlsSchema.parse({}),
      {
        certFile: file('forty-days.crt', soon.fullChainPem),
        keyFile: file('forty-days.key', soon.privateKeyPem),
      },
      logger,
      clock,
    );
    try {
      assert.equal(errorsLogged(), 1, 'once at start');
      clock.advance(DAY - 1);
      assert.equal(errorsLogged(), 1);
      clock.advance(1);
      assert.equal(errorsLogged(), 2, 'again a day later');
      assert.match(
        records.at(-1)!.msg,
        /server-expired\.crt expired on .*still served until the file is renewed/,
      );
      assert.deepEqual(
        later.certificates().map((c) => c.status),
        ['ok'],
      );
      clock.advance(15 * DAY);
      assert.ok(records.some((r) => r.level === 40 && /forty-days\.crt expires in \d+ days/.test(r.msg)));
      clock.advance(30 * DAY);
      assert.deepEqual(
        later.certificates().map((c) => c.status),
        ['expired'],
      );
      assert.ok(records.some((r) => r.level === 50 && /forty-days\.crt expired on/.test(r.msg)));
    } finally {
      expired.close();
      later.close();
    }
  });

  it('client certificates asked for without any CA to trust', async () => {
    await assert.rejects(
      start({
        certFile: pki.servers.valid.cert,
        keyFile: pki.servers.valid.key,
        clientCertificates: 'required',
      }),
      /client certificates are required but no caFile or caPath/,
    );
  });

  it('a certificate expiring within 30 days starts, with a warning', async () => {
    const soon = await issueCertificate(pki.intermediate, {
      name: 'localhost',
      kind: 'server',
      hosts: ['localhost'],
      days: 10,
    });
    const { logger, warnings } = warningLog();
    const broker = await createBroker(
      {
        listeners: [
          {
            host: '127.0.0.1',
            port: 0,
            tls: {
              certFile: file('soon.crt', soon.fullChainPem),
              keyFile: file('soon.key', soon.privateKeyPem),
            },
          },
        ],
        sysInterval: 0,
      },
      logger,
    );
    await broker.close();
    assert.ok(
      warnings.some((w) => /soon\.crt expires in (9|10) days/.test(w)),
      warnings.join('\n'),
    );
  });
});

describe('refused handshakes in the log', () => {
  it('a client that resets during the handshake is logged with its address, and the reason in words', async () => {
    const records: Array<{ remote?: string; reason?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void records.push(JSON.parse(line)) });
    const broker = await createBroker(
      {
        listeners: [
          {
            host: '127.0.0.1',
            port: 0,
            tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
          },
        ],
        sysInterval: 0,
      },
      logger,
    );
    try {
      const port = broker.listeners[0]!.port;
      const raw = tcpConnect(port, '127.0.0.1');
      await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
      const local = `${raw.localAddress}:${raw.localPort}`;
      // The start of a ClientHello, then a reset before it is complete.
      raw.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03]));
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the broker read it first
      raw.resetAndDestroy();
      await until('the refusal in the log', () => records.some((r) => r.reason !== undefined), 5000);
      const refusal = records.find((r) => r.reason !== undefined)!;
      assert.equal(refusal.remote?.replace(/^::ffff:/, ''), local.replace(/^::ffff:/, ''));
      assert.equal(refusal.reason, 'closed by the client during the handshake');
    } finally {
      await broker.close();
    }
  });

  it('OpenSSL codes outside the table still read as words', () => {
    assert.equal(
      handshakeFailureReason(Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR' })),
      'the client sent the TLS alert "decrypt error"',
    );
    assert.equal(
      verificationFailureReason('UNABLE_TO_DECRYPT_CERT_SIGNATURE'),
      'unable to decrypt cert signature',
    );
  });
});

describe('CRL checks', () => {
  it("leaf (the default, mosquitto's): the issuing CA's CRL alone is enough; chain asks one of every CA", async () => {
    const onlyIssuer = file(
      'issuer-only-crl.pem',
      await createCrl(pki.intermediate, [{ serialNumber: pki.clients.revoked.serialNumber }]),
    );
    const records: Array<{ reason?: string; listener?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void records.push(JSON.parse(line)) });
    const broker = await createBroker(
      {
        listeners: [
          { host: '127.0.0.1', port: 0, tls: mutualTls(pki, { crlFiles: [onlyIssuer] }) },
          { host: '127.0.0.1', port: 0, tls: mutualTls(pki, { crlFiles: [onlyIssuer], crlCheck: 'chain' }) },
        ],
        allowAnonymous: true,
        sysInterval: 0,
      },
      logger,
    );
    const publish = (listener: number, device: { cert: string; key: string }) =>
      run('mosquitto_pub', [
        ...['-h', 'localhost', '-p', String(broker.listeners[listener]!.port), '--cafile', pki.caFile],
        ...['--cert', device.cert, '--key', device.key, '-t', 'crl/t', '-m', 'x'],
      ]);
    try {
      const valid = await publish(0, pki.clients.valid);
      assert.equal(valid.code, 0, valid.stderr);
      assert.notEqual((await publish(0, pki.clients.revoked)).code, 0);
      assert.ok(
        records.some((r) => r.reason === 'revoked'),
        JSON.stringify(records),
      );
      assert.notEqual((await publish(1, pki.clients.valid)).code, 0, 'chain: the root has no CRL here');
      assert.ok(
        records.some((r) => r.reason === 'no CRL for the issuer'),
        JSON.stringify(records),
      );
    } finally {
      await broker.close();
    }
  });

  it('a CRL whose signature does not verify against its CA in caFile stops the start, naming it', async () => {
    const forged = await createCrl(pki.fakeRoot, []); // same subject as the root, another key
    await assert.rejects(
      createBroker(
        {
          listeners: [
            {
              host: '127.0.0.1',
              port: 0,
              tls: mutualTls(pki, { crlFiles: [file('forged-crl.pem', forged)] }),
            },
          ],
          sysInterval: 0,
        },
        silent,
      ),
      /CRL of .*: its signature does not verify against that CA in caFile\/caPath/,
    );
  });
});
