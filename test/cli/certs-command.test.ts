// `warden certs` as a person runs it: a CA, a server and two device certificates whose files go
// as they are into warden's broker config, Debian's mosquitto broker and mosquitto_pub/sub; a
// revocation that both brokers enforce through the CRL; intermediates; a CA made by OpenSSL;
// PKCS#12 key and trust stores both ways with OpenSSL; and refusals that name what is wrong.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import type { Broker } from '../../src/broker/index.js';
import { connect } from '../../src/client/index.js';
import { createBroker } from '../support/memory-broker.js';
import { run, start, WARDEN, within } from '../support/processes.js';

/** Runs `warden certs <args>` to its end, with extra environment variables. */
const certs = (args: string[], env: Record<string, string> = {}) =>
  run(
    'env',
    [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'node', ...WARDEN, 'certs', ...args],
    20_000,
  );

let root: string;
let pki: string;
const file = (name: string) => join(pki, name);

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'warden-certs-'));
  // Debian's mosquitto started as root reads its files after dropping to its own user.
  chmodSync(root, 0o755);
  pki = join(root, 'pki');
  for (const args of [
    ['ca', '--dir', pki, '--name', 'Certs Test CA'],
    ['server', 'broker', '--dir', pki, '--host', 'localhost', '--host', '127.0.0.1'],
    ['client', 'dev-1', '--dir', pki],
    ['client', 'dev-2', '--dir', pki, '--email', 'dev-2@example.com', '--p12', '--passphrase-env', 'P12'],
    ['crl', '--dir', pki],
  ]) {
    const result = await certs(args, { P12: 'store-secret' });
    assert.equal(result.code, 0, `certs ${args.join(' ')}: ${result.stderr}`);
  }
});

/** warden's broker on the files `certs` wrote, client certificates required, with these CRL files. */
const certsBroker = (crlFiles: string[] = []): Promise<Broker> =>
  createBroker(
    {
      listeners: [
        {
          host: '127.0.0.1',
          port: 0,
          allowAnonymous: true,
          tls: {
            certFile: file('broker.crt'),
            keyFile: file('broker.key'),
            caFile: file('ca.crt'),
            clientCertificates: 'required',
            crlFiles,
          },
        },
      ],
      sysInterval: 0,
    },
    pino({ level: 'silent' }),
  );

/** mosquitto_pub with one of the device certificates. */
const devicePub = (port: number, device: string, message: string) =>
  run('mosquitto_pub', [
    ...['-h', 'localhost', '-p', String(port), '--cafile', file('ca.crt')],
    ...['--cert', file(`${device}.crt`), '--key', file(`${device}.key`)],
    ...['-t', 'certs/t', '-m', message, '-q', '1'],
  ]);

describe('warden certs: files the brokers and mosquitto clients use as they are', () => {
  it('writes PEM files, keys readable by the owner only, and an empty CRL', async () => {
    for (const name of ['ca.crt', 'broker.crt', 'dev-1.crt', 'dev-2.crt', 'crl.pem'])
      assert.equal(statSync(file(name)).mode & 0o777, 0o644, name);
    for (const name of ['ca.key', 'broker.key', 'dev-1.key', 'dev-2.key', 'dev-2.p12'])
      assert.equal(statSync(file(name)).mode & 0o777, 0o600, name);
    const text = await run('openssl', ['x509', '-in', file('broker.crt'), '-noout', '-text']);
    assert.match(text.stdout, /DNS:localhost, IP Address:127\.0\.0\.1/);
    assert.match(text.stdout, /TLS Web Server Authentication/);
    const verify = await run('openssl', [
      'verify',
      '-CAfile',
      file('ca.crt'),
      file('broker.crt'),
      file('dev-1.crt'),
    ]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const crl = await run('openssl', ['crl', '-in', file('crl.pem'), '-noout', '-text']);
    assert.match(crl.stdout, /Issuer: CN = Certs Test CA/);
    assert.match(crl.stdout, /No Revoked Certificates/);
  });

  it("warden's broker: mosquitto clients with device certificates; a revoked one is refused after reload", async () => {
    const broker = await certsBroker([file('crl.pem')]);
    try {
      const port = broker.listeners[0]!.port;
      // Line-buffered, so its debug lines arrive as they happen (stdout is a pipe here).
      const sub = start('stdbuf', [
        ...['-oL', 'mosquitto_sub', '-h', 'localhost', '-p', String(port), '--cafile', file('ca.crt')],
        ...['--cert', file('dev-2.crt'), '--key', file('dev-2.key'), '-t', 'certs/t', '-C', '2', '-v', '-d'],
      ]);
      try {
        await sub.waitFor(/SUBACK/);
        const first = await devicePub(port, 'dev-1', 'before');
        assert.equal(first.code, 0, first.stderr);

        const revoke = await certs(['revoke', file('dev-1.crt'), '--dir', pki]);
        assert.equal(revoke.code, 0, revoke.stderr);
        const serial = (await run('openssl', ['x509', '-in', file('dev-1.crt'), '-noout', '-serial'])).stdout
          .trim()
          .replace('serial=', '')
          .toLowerCase();
        assert.match(revoke.stdout, new RegExp(`revoked: serial ${serial.replace(/^0+/, '')}`));
        const [reloaded] = await broker.reloadTls();
        assert.equal(reloaded?.ok, true, reloaded?.error);

        const refused = await devicePub(port, 'dev-1', 'after');
        assert.notEqual(refused.code, 0, 'a revoked certificate must not publish');
        const second = await devicePub(port, 'dev-2', 'still trusted');
        assert.equal(second.code, 0, second.stderr);
        const received = await sub.done(10_000);
        const lines = received.stdout.split('\n').filter((l) => l.startsWith('certs/t '));
        assert.deepEqual(lines, ['certs/t before', 'certs/t still trusted']);
        assert.doesNotMatch(received.stdout, /after/);
      } finally {
        await sub.stop();
      }
    } finally {
      await broker.close();
    }
    // Revoking again changes nothing.
    const again = await certs(['revoke', file('dev-1.crt'), '--dir', pki]);
    assert.match(again.stdout, /already revoked/);
    const crl = await run('openssl', ['crl', '-in', file('crl.pem'), '-noout', '-text']);
    assert.equal(crl.stdout.match(/Serial Number:/g)?.length, 1);
  });

  it("Debian's mosquitto broker takes the same files: certfile, keyfile, cafile, crlfile", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(root, 'mosquitto-'));
    chmodSync(dir, 0o755);
    // mosquitto reads them as its own user: readable copies of the server key.
    writeFileSync(join(dir, 'broker.key'), readFileSync(file('broker.key')), { mode: 0o644 });
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        `certfile ${file('broker.crt')}`,
        `keyfile ${join(dir, 'broker.key')}`,
        `cafile ${file('ca.crt')}`,
        'require_certificate true',
        `crlfile ${file('crl.pem')}`,
        'allow_anonymous true',
        '',
      ].join('\n'),
    );
    chmodSync(pki, 0o755);
    // The previous test revoked dev-1; revoking is idempotent, so this test stands alone too.
    assert.equal((await certs(['revoke', file('dev-1.crt'), '--dir', pki])).code, 0);
    const mosquitto = start('mosquitto', ['-c', conf, '-v']);
    try {
      await mosquitto.waitFor(/Opening ipv4 listen socket/);
      const trusted = await within(retryPub(port, 'dev-2'), 15_000, 'publish to mosquitto');
      assert.equal(trusted.code, 0, trusted.stderr);
      const revoked = await devicePub(port, 'dev-1', 'revoked');
      assert.notEqual(revoked.code, 0, 'mosquitto must refuse the revoked certificate');
    } finally {
      await mosquitto.stop();
    }
  });
});

/** The first publish after mosquitto starts may race its listener. */
async function retryPub(port: number, device: string) {
  for (let i = 0; ; i++) {
    const result = await devicePub(port, device, 'hello');
    if (result.code === 0 || i >= 20) return result;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('warden certs: intermediates, OpenSSL-made CAs, PKCS#12', () => {
  it('an intermediate CA: what it issues carries the chain, and verifies against the root alone', async () => {
    const int = join(root, 'intermediate');
    assert.equal((await certs(['ca', '--dir', int, '--name', 'Issuing CA', '--issuer-dir', pki])).code, 0);
    const server = await certs(['server', 'edge', '--dir', int, '--host', 'edge.example.com']);
    assert.equal(server.code, 0, server.stderr);
    assert.equal(readFileSync(join(int, 'edge.crt'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);
    const verify = await run('openssl', [
      ...['verify', '-CAfile', file('ca.crt'), '-untrusted', join(int, 'edge.crt')],
      join(int, 'edge.crt'),
    ]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('a CA made by OpenSSL (RSA, PKCS#1 key) issues through --ca-cert and --ca-key', async () => {
    const dir = mkdtempSync(join(root, 'openssl-ca-'));
    const key = await run('openssl', ['genrsa', '-traditional', '-out', join(dir, 'ca.key'), '2048']);
    assert.equal(key.code, 0, key.stderr);
    const made = await run('openssl', [
      ...[
        'req',
        '-x509',
        '-key',
        join(dir, 'ca.key'),
        '-days',
        '30',
        '-out',
        join(dir, 'ca.pem'),
        '-subj',
        '/O=Example/CN=OpenSSL Root',
      ],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(readFileSync(join(dir, 'ca.key'), 'utf8'), /BEGIN RSA PRIVATE KEY/);
    const issued = await certs([
      ...[
        'client',
        'sensor',
        '--dir',
        dir,
        '--ca-cert',
        join(dir, 'ca.pem'),
        '--ca-key',
        join(dir, 'ca.key'),
      ],
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    const verify = await run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'sensor.crt')]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('PKCS#12: the key store opens in OpenSSL and as a client certificate; OpenSSL-made stores are inspected and trusted', async () => {
    const info = await run('openssl', [
      ...['pkcs12', '-in', file('dev-2.p12'), '-passin', 'pass:store-secret', '-info', '-nodes'],
    ]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stderr + info.stdout, /PBES2, PBKDF2, AES-256-CBC/);
    assert.match(info.stdout, /subject=CN\s?=\s?dev-2/);
    assert.match(info.stdout, /BEGIN PRIVATE KEY/);

    const seen = await certs(['inspect', file('dev-2.p12'), '--passphrase-env', 'P12', '--json'], {
      P12: 'store-secret',
    });
    assert.equal(seen.code, 0, seen.stderr);
    const [entry] = JSON.parse(seen.stdout) as [
      { contents: { format: string; certificates: { subject: string }[]; privateKeys: string[] } },
    ];
    assert.equal(entry.contents.format, 'pkcs12');
    assert.equal(entry.contents.certificates[0]?.subject, 'CN=dev-2');
    assert.deepEqual(entry.contents.privateKeys, ['EC prime256v1']);

    // A trust store as OpenSSL makes one (certificates only) trusts the broker for warden pub.
    const store = join(root, 'truststore.p12');
    const exported = await run('openssl', [
      ...[
        'pkcs12',
        '-export',
        '-nokeys',
        '-in',
        file('ca.crt'),
        '-out',
        store,
        '-passout',
        'pass:trust-secret',
      ],
    ]);
    assert.equal(exported.code, 0, exported.stderr);
    const legacy = join(root, 'legacy.p12');
    await run('openssl', [
      ...['pkcs12', '-export', '-legacy', '-in', file('dev-1.crt'), '-inkey', file('dev-1.key')],
      ...['-out', legacy, '-passout', 'pass:x'],
    ]);
    const old = await certs(['inspect', legacy, '--passphrase-env', 'P'], { P: 'x' });
    assert.equal(old.code, 1);
    assert.match(old.stderr, /RC2 \(openssl pkcs12 -legacy\), which is not supported/);

    const broker = await certsBroker();
    try {
      const url = `mqtts://localhost:${broker.listeners[0]!.port}`;
      const client = await connect(url, {
        trustStore: { pkcs12: store, passphrase: 'trust-secret' },
        certificate: { pfx: readFileSync(file('dev-2.p12')), passphrase: 'store-secret' },
        reconnect: false,
      });
      assert.equal(client.tls?.chain[0]?.subject, 'CN=broker');
      await client.end();
      const pub = await run(
        'env',
        [
          'STORE=trust-secret',
          ...['node', ...WARDEN, 'pub', '-L', url, '--trust-store', store, '--store-passphrase-env', 'STORE'],
          ...['--cert', file('dev-2.crt'), '--key', file('dev-2.key'), '-t', 'p12/t', '-m', 'hi'],
        ],
        20_000,
      );
      assert.equal(pub.code, 0, pub.stderr);
      await assert.rejects(
        connect(url, { trustStore: { pkcs12: store, passphrase: 'wrong' }, reconnect: false }),
        (error: Error & { code?: string }) =>
          error.code === 'ERR_TLS_CONFIG' &&
          /trust store .*truststore\.p12: wrong passphrase/.test(error.message),
      );
    } finally {
      await broker.close();
    }
  });
});

describe('warden certs: refusals name what is wrong', () => {
  const refusals: [string, string[], RegExp, Record<string, string>?][] = [
    [
      'no CA yet',
      ['server', 'x', '--dir', '/nonexistent/pki'],
      /no CA at \/nonexistent\/pki\/ca\.crt: create one with `warden certs ca/,
    ],
    [
      'an existing file',
      ['server', 'broker', '--dir', 'PKI'],
      /broker\.crt exists: remove it or pass --force/,
    ],
    [
      "a key that is not the CA's",
      ['client', 'y', '--dir', 'PKI', '--ca-key', 'PKI/dev-1.key'],
      /the CA key does not belong to the CA certificate/,
    ],
    [
      'a certificate as CA',
      ['client', 'z', '--dir', 'PKI', '--ca-cert', 'PKI/dev-1.crt', '--ca-key', 'PKI/dev-1.key'],
      /CN=dev-1 is not a CA certificate/,
    ],
    [
      '--p12 without a passphrase',
      ['client', 'w', '--dir', 'PKI', '--p12'],
      /--p12 needs --passphrase-env <var>/,
    ],
    [
      'a passphrase variable not set',
      ['client', 'w', '--dir', 'PKI', '--p12', '--passphrase-env', 'NOPE_UNSET'],
      /environment variable NOPE_UNSET is not set/,
    ],
    [
      'a wrong PKCS#12 passphrase',
      ['inspect', 'PKI/dev-2.p12', '--passphrase-env', 'P12'],
      /dev-2\.p12: PKCS#12: wrong passphrase/,
      { P12: 'nope' },
    ],
    [
      'a file that is no PKI file',
      ['inspect', 'package.json'],
      /package\.json: neither PEM nor a DER certificate, CRL or PKCS#12 file/,
    ],
    ['a missing file', ['inspect', 'PKI/none.pem'], /none\.pem: no such file/],
  ];
  for (const [what, args, message, env] of refusals)
    it(what, async () => {
      const result = await certs(
        args.map((a) => a.replace('PKI', pki)),
        env,
      );
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    });

  it('a certificate of another CA is not revoked by this one', async () => {
    const other = join(root, 'other');
    await certs(['ca', '--dir', other, '--name', 'Certs Test CA']); // same name, other key
    const result = await certs(['revoke', file('dev-2.crt'), '--dir', other]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /dev-2\.crt was not issued by CN=Certs Test CA/);
    assert.equal(existsSync(join(other, 'crl.pem')), false);
  });
});

after(() => undefined);
