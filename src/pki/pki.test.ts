// The generated PKI as independent tools see it: OpenSSL's verify and x509, and a real Node TLS
// handshake. No mocks: each certificate is judged by the same code a peer would run.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer, connect as tlsConnect } from 'node:tls';
import { createTestPki, type TestPki } from '../../test/fixtures/test-pki.js';
import { run } from '../../test/support/processes.js';
import { describeCertificate } from './describe-certificate.js';

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});

/** openssl verify of a leaf (first block of cert) with the intermediate as untrusted. */
async function opensslVerify(certFile: string, extra: string[] = [], caFile = pki.caFile) {
  const chain = readFileSync(certFile, 'utf8');
  const intermediates = chain.slice(chain.indexOf('-----END CERTIFICATE-----') + 26);
  const untrusted = `${pki.dir}/untrusted-${Math.random().toString(36).slice(2)}.pem`;
  writeFileSync(untrusted, intermediates);
  return run('openssl', ['verify', '-CAfile', caFile, '-untrusted', untrusted, ...extra, certFile]);
}

describe('generated PKI, checked by openssl', () => {
  it('a valid server certificate verifies against the root through the intermediate', async () => {
    const result = await opensslVerify(pki.servers.valid.cert, ['-purpose', 'sslserver']);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /: OK/);
  });

  it('the SAN holds localhost and 127.0.0.1; the key is EC P-256', async () => {
    const text = await run('openssl', ['x509', '-noout', '-text', '-in', pki.servers.valid.cert]);
    assert.match(text.stdout, /DNS:localhost, IP Address:127\.0\.0\.1/);
    assert.match(text.stdout, /prime256v1|P-256/);
    assert.match(text.stdout, /TLS Web Server Authentication/);
  });

  const refused: Array<[string, () => string, RegExp, string[]?]> = [
    ['expired', () => pki.servers.expired.cert, /certificate has expired/],
    ['not yet valid', () => pki.servers.notYetValid.cert, /certificate is not yet valid/],
    [
      'issued by the same-name fake root',
      () => pki.servers.fakeCa.cert,
      /certificate signature failure|unable to get local issuer/,
    ],
    [
      'with client-only key usage, as a server',
      () => pki.servers.wrongKeyUsage.cert,
      /(unsuitable|unsupported) certificate purpose/,
      ['-purpose', 'sslserver'],
    ],
    [
      'revoked, with the CRL',
      () => pki.clients.revoked.cert,
      /certificate revoked/,
      ['-crl_check', '-CRLfile', '__CRL__'],
    ],
  ];
  for (const [name, file, reason, extra = []] of refused) {
    it(`refuses a certificate ${name}`, async () => {
      const args = extra.map((a) => (a === '__CRL__' ? pki.crlFile : a));
      const result = await opensslVerify(file(), args);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr + result.stdout, reason);
    });
  }

  it('a client certificate not on the CRL passes the CRL check', async () => {
    const result = await opensslVerify(pki.clients.valid.cert, [
      '-crl_check',
      '-CRLfile',
      pki.crlFile,
      '-purpose',
      'sslclient',
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
  });
});

describe('generated PKI in a real TLS handshake', () => {
  const servers: Array<{ close(): void }> = [];
  after(() => {
    for (const s of servers) s.close();
  });

  async function handshake(serverFiles: { cert: string; key: string }, servername = 'localhost') {
    const server = createServer(
      { cert: readFileSync(serverFiles.cert), key: readFileSync(serverFiles.key) },
      (s) => s.end(),
    );
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername, ca: readFileSync(pki.caFile) });
      socket.on('secureConnect', () => {
        resolve('authorized');
        socket.destroy();
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  }

  it('Node verifies the server chain (ECDSA and RSA) against the root', async () => {
    assert.equal(await handshake(pki.servers.valid), 'authorized');
    assert.equal(await handshake(pki.servers.rsa), 'authorized');
  });

  it('Node refuses expired, not-yet-valid, wrong-host and fake-root servers with their reasons', async () => {
    assert.equal(await handshake(pki.servers.expired), 'CERT_HAS_EXPIRED');
    assert.equal(await handshake(pki.servers.notYetValid), 'CERT_NOT_YET_VALID');
    assert.equal(await handshake(pki.servers.wrongHost), 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(
      await handshake(pki.servers.fakeCa),
      /CERT_SIGNATURE_FAILURE|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/,
    );
  });
});

describe('describeCertificate', () => {
  it('summarises subject, names, validity and key', () => {
    const summary = describeCertificate(readFileSync(pki.clients.withEmail.cert));
    assert.match(summary.subject, /CN=device-3/);
    assert.match(summary.issuer, /CN=Warden Test Intermediate/);
    assert.deepEqual(summary.subjectAltNames, ['email:device-3@example.com', 'URI:urn:device:3']);
    assert.equal(summary.keyType, 'EC prime256v1');
    assert.equal(summary.isCa, false);
    assert.ok(summary.daysLeft >= 363 && summary.daysLeft <= 365, String(summary.daysLeft));
    assert.equal(summary.serialNumber, pki.clients.withEmail.serialNumber);
    assert.match(summary.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('counts days left negative for an expired certificate', () => {
    assert.ok(describeCertificate(readFileSync(pki.servers.expired.cert)).daysLeft < 0);
  });
});
