// warden/client trust choices against warden's own TLS listener: CA directory, the system store
// with a bundle, SPKI pins, the async trust provider (refusing, throwing, replacing standard
// verification), the two halves of "insecure" each warned about, PSK, and Debian's mosquitto.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import type { Broker } from '../../src/broker/index.js';
import { ClientError, connect, type PeerInfo, spkiSha256 } from '../../src/client/index.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { start, within } from '../support/processes.js';

let pki: TestPki;
let broker: Broker;
/** TLS listeners with these server certificates: valid, wrongHost, fakeCa; then a PSK one. */
const ports: Record<'valid' | 'wrongHost' | 'fakeCa' | 'psk', number> = {
  valid: 0,
  wrongHost: 0,
  fakeCa: 0,
  psk: 0,
};

before(async () => {
  pki = await createTestPki();
  const pskFile = join(pki.dir, 'psk.txt');
  writeFileSync(pskFile, 'sensor-9:00112233445566778899aabbccddeeff\n');
  const tls = (server: { cert: string; key: string }) => ({ certFile: server.cert, keyFile: server.key });
  broker = await createBroker(
    {
      listeners: [
        { host: '127.0.0.1', port: 0, tls: tls(pki.servers.valid) },
        { host: '127.0.0.1', port: 0, tls: tls(pki.servers.wrongHost) },
        { host: '127.0.0.1', port: 0, tls: tls(pki.servers.fakeCa) },
        { host: '127.0.0.1', port: 0, tls: { pskFile, pskHint: 'warden' } },
      ],
      allowAnonymous: true,
      sysInterval: 0,
    },
    pino({ level: 'silent' }),
  );
  [ports.valid, ports.wrongHost, ports.fakeCa, ports.psk] = broker.listeners.map((l) => l.port) as [
    number,
    number,
    number,
    number,
  ];
});
after(() => broker.close());

const refused = (code: string, message: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ClientError, String(e));
  assert.equal(e.code, code);
  assert.equal(e.stage, 'tls-handshaking');
  assert.match(e.message, message);
  return true;
};

describe('trust sources', () => {
  it('a CA directory (capath), and the system store together with a bundle', async () => {
    const dir = join(pki.dir, 'capath');
    mkdirSync(dir, { recursive: true });
    copyFileSync(pki.caFile, join(dir, 'root.pem'));
    const viaPath = await connect(`mqtts://localhost:${ports.valid}`, { caPath: dir });
    await viaPath.end();
    // SSL_CERT_FILE stands in for the OS bundle: with systemStore both it and caFile are trusted.
    const saved = process.env.SSL_CERT_FILE;
    process.env.SSL_CERT_FILE = pki.fakeCaFile;
    try {
      const both = { caFile: pki.caFile, systemStore: true };
      await (await connect(`mqtts://localhost:${ports.valid}`, both)).end();
      await (await connect(`mqtts://localhost:${ports.fakeCa}`, both)).end();
      await assert.rejects(
        connect(`mqtts://localhost:${ports.fakeCa}`, { caFile: pki.caFile }),
        refused('ERR_TLS_UNKNOWN_CA', /unknown CA/),
      );
    } finally {
      if (saved === undefined) delete process.env.SSL_CERT_FILE;
      else process.env.SSL_CERT_FILE = saved;
    }
  });

  it('a missing CA file is named before any handshake', async () => {
    await assert.rejects(connect(`mqtts://localhost:${ports.valid}`, { caFile: join(pki.dir, 'nope.crt') }), {
      code: 'ERR_TLS_CONFIG',
      message: /CA file .*nope\.crt: no such file/,
    });
  });
});

describe('pins', () => {
  it('accepts a verified chain holding a pinned key (leaf or root, base64 or hex); refuses any other with the key it saw', async () => {
    const leaf = new X509Certificate(readFileSync(pki.servers.valid.cert));
    const root = new X509Certificate(readFileSync(pki.caFile));
    const fakeRoot = new X509Certificate(readFileSync(pki.fakeCaFile));
    const options = { caFile: pki.caFile };
    await (
      await connect(`mqtts://localhost:${ports.valid}`, { ...options, pins: [`sha256/${spkiSha256(leaf)}`] })
    ).end();
    const rootHex = Buffer.from(spkiSha256(root), 'base64').toString('hex');
    await (await connect(`mqtts://localhost:${ports.valid}`, { ...options, pins: [rootHex] })).end();
    await assert.rejects(
      connect(`mqtts://localhost:${ports.valid}`, { ...options, pins: [spkiSha256(fakeRoot)] }),
      refused(
        'ERR_TLS_PIN_MISMATCH',
        new RegExp(`the broker's SPKI SHA-256 is ${spkiSha256(leaf).replace(/[+/]/g, '\\$&')}`),
      ),
    );
  });
});

describe('trust provider', () => {
  it('is called with the chain, SNI and standard verdict before CONNECT; may refuse with a reason', async () => {
    let seen: PeerInfo | undefined;
    const client = await connect(`mqtts://localhost:${ports.valid}`, {
      caFile: pki.caFile,
      trustProvider: async (peer) => {
        seen = peer;
        return { accept: true };
      },
    });
    await client.end();
    assert.equal(seen?.servername, 'localhost');
    assert.equal(seen?.port, ports.valid);
    assert.match(seen?.chain[0]?.subject ?? '', /CN=localhost/);
    assert.equal(seen?.chain.length, 3, 'leaf, intermediate and the trusted root it reached');
    assert.deepEqual(seen?.standard, { ok: true });
    assert.equal(seen?.alpn, 'mqtt');

    await assert.rejects(
      connect(`mqtts://localhost:${ports.valid}`, {
        caFile: pki.caFile,
        trustProvider: async () => ({ accept: false, reason: 'device not enrolled' }),
      }),
      refused('ERR_TLS_TRUST_REFUSED', /^trust provider refused the broker: device not enrolled$/),
    );
    await assert.rejects(
      connect(`mqtts://localhost:${ports.valid}`, {
        caFile: pki.caFile,
        trustProvider: async () => {
          throw new Error('inventory down');
        },
      }),
      refused('ERR_TLS_TRUST_REFUSED', /^trust provider failed: inventory down$/),
    );
  });

  it('standard verification stays on unless the provider replaces it', async () => {
    const accept = async () => ({ accept: true }) as const;
    await assert.rejects(
      connect(`mqtts://localhost:${ports.fakeCa}`, { caFile: pki.caFile, trustProvider: accept }),
      refused('ERR_TLS_UNKNOWN_CA', /unknown CA/),
    );
    let standard: PeerInfo['standard'] | undefined;
    const warnings: string[] = [];
    const client = await connect(`mqtts://localhost:${ports.fakeCa}`, {
      caFile: pki.caFile,
      trustProvider: {
        replacesVerification: true,
        verify: async (peer) => {
          standard = peer.standard;
          return { accept: true };
        },
      },
      onWarning: (w) => warnings.push(w),
    });
    await client.end();
    assert.equal(standard?.ok, false);
    assert.match(warnings.join('\n'), /standard verification is replaced by the trust provider/);
  });
});

describe('insecure, split in two', () => {
  it('skipHostnameCheck accepts another host name but not another CA; skipChainCheck the reverse; both warn', async () => {
    const warnings: string[] = [];
    const onWarning = (w: string) => warnings.push(w);
    await (
      await connect(`mqtts://localhost:${ports.wrongHost}`, {
        caFile: pki.caFile,
        skipHostnameCheck: true,
        onWarning,
      })
    ).end();
    await assert.rejects(
      connect(`mqtts://localhost:${ports.fakeCa}`, {
        caFile: pki.caFile,
        skipHostnameCheck: true,
        onWarning,
      }),
      refused('ERR_TLS_UNKNOWN_CA', /unknown CA/),
    );
    await (
      await connect(`mqtts://localhost:${ports.fakeCa}`, {
        caFile: pki.caFile,
        skipChainCheck: true,
        onWarning,
      })
    ).end();
    await assert.rejects(
      connect(`mqtts://localhost:${ports.wrongHost}`, {
        caFile: pki.caFile,
        skipChainCheck: true,
        onWarning,
      }),
      refused('ERR_TLS_HOSTNAME_MISMATCH', /hostname localhost not in SAN/),
    );
    assert.ok(warnings.some((w) => /host name is NOT checked/.test(w)));
    assert.ok(warnings.some((w) => /chain is NOT verified/.test(w)));
  });
});

describe('PSK and other brokers', () => {
  it('TLS-PSK: the identity and key of a psk_file', async () => {
    const client = await connect(`mqtts://127.0.0.1:${ports.psk}`, {
      psk: { identity: 'sensor-9', key: '00112233445566778899aabbccddeeff' },
      protocolVersion: 4,
    });
    assert.equal(client.tls?.chain.length, 0, 'no certificate with PSK');
    await client.end();
    await assert.rejects(
      connect(`mqtts://127.0.0.1:${ports.psk}`, { psk: { identity: 'sensor-9', key: 'ffff' } }),
      { code: 'ERR_TLS_HANDSHAKE' },
    );
  });

  it("Debian's mosquitto over TLS: connect, QoS 2 round trip", async () => {
    const port = await freePort();
    // mosquitto started as root reads its files after dropping to its own user.
    const dir = mkdtempSync(join(tmpdir(), 'warden-mosquitto-'));
    chmodSync(dir, 0o755);
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    writeFileSync(cert, readFileSync(pki.servers.valid.cert), { mode: 0o644 });
    writeFileSync(key, readFileSync(pki.servers.valid.key), { mode: 0o644 });
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [`listener ${port} 127.0.0.1`, `certfile ${cert}`, `keyfile ${key}`, 'allow_anonymous true', ''].join(
        '\n',
      ),
    );
    const mosquitto = start('mosquitto', ['-c', conf, '-v']);
    try {
      await mosquitto.waitFor(/running|Opening ipv4 listen socket/, 10_000);
      const client = await within(
        retry(() =>
          connect(`mqtts://localhost:${port}`, { caFile: pki.caFile, clientId: 'warden-vs-mosquitto' }),
        ),
        10_000,
        'connect to mosquitto',
      );
      try {
        await client.subscribe('m/t', { qos: 2 });
        await client.publish('m/t', 'exactly once', { qos: 2 });
        const got = await within(client.messages().next(), 5000, 'message from mosquitto');
        assert.equal(got.value?.payload.toString(), 'exactly once');
        assert.equal(got.value?.qos, 2);
      } finally {
        await client.end();
      }
    } finally {
      await mosquitto.stop();
    }
  });
});

async function retry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= 20) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
