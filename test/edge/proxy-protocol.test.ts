// Warden behind a load balancer (issue 16, first step): a listener with proxyProtocol takes the
// PROXY header's client address (v1 and v2, IPv4 and IPv6, LOCAL health checks on the real
// address), refuses a connection without a header, with a malformed or oversize one, or from a
// peer outside trustedProxies; and behind Debian's haproxy terminating TLS with client
// certificate verification (send-proxy-v2-ssl-cn), the CN the proxy verified is the user name
// the ACL judges, and the device's own address is the one warden sees.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import pino from 'pino';
import { WebSocket } from 'ws';
import { freePort } from '../../bench/bench-process.js';
import { parseProxyHeader, V2_MAX } from '../../src/broker/edge/proxy-header.js';
import { type Broker, loadConfigFile } from '../../src/broker/index.js';
import { encodePacket } from '../../src/protocol/index.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { type Started, start, until, within } from '../support/processes.js';

const connectBytes = encodePacket(
  {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepAlive: 30,
    clientId: 'behind-lb',
  },
  4,
);

/** A v2 header: PROXY TCP over IPv4 or IPv6, with TLVs. */
function v2(source: string, port: number, tlvs: Buffer = Buffer.alloc(0), command = 1): Buffer {
  const ipv6 = source.includes(':');
  const address = ipv6 ? Buffer.alloc(36) : Buffer.alloc(12);
  if (ipv6)
    for (const [i, g] of source.split(':').entries()) address.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  else for (const [i, o] of source.split('.').entries()) address.writeUInt8(Number(o), i);
  address.writeUInt16BE(port, ipv6 ? 32 : 8);
  const body = Buffer.concat([address, tlvs]);
  const head = Buffer.from([
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
    0x20 | command,
    ipv6 ? 0x21 : 0x11,
    0,
    0,
  ]);
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}

const sslTlv = (client: number, verify: number, cn: string) => {
  const cnTlv = Buffer.concat([Buffer.from([0x22, 0, 0]), Buffer.from(cn)]);
  cnTlv.writeUInt16BE(cn.length, 1);
  const value = Buffer.concat([Buffer.from([client, 0, 0, 0, 0]), cnTlv]);
  value.writeUInt32BE(verify, 1);
  const tlv = Buffer.concat([Buffer.from([0x20, 0, 0]), value]);
  tlv.writeUInt16BE(value.length, 1);
  return tlv;
};

describe('PROXY protocol headers', () => {
  it('v1: TCP4, TCP6 and UNKNOWN; more bytes asked for; too long, malformed and missing refused', () => {
    const line = (s: string) => Buffer.from(`${s}\r\nrest`);
    assert.deepEqual(parseProxyHeader(line('PROXY TCP4 203.0.113.7 10.0.0.1 5555 1883'), 1), {
      header: { version: 1, local: false, source: { address: '203.0.113.7', port: 5555 } },
      length: 43,
    });
    assert.deepEqual(
      (parseProxyHeader(line('PROXY TCP6 2001:db8::1 ::1 4000 1883'), 1) as { header: unknown }).header,
      { version: 1, local: false, source: { address: '2001:db8::1', port: 4000 } },
    );
    assert.deepEqual((parseProxyHeader(line('PROXY UNKNOWN'), 1) as { header: unknown }).header, {
      version: 1,
      local: true,
    });
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 1.2'), 1), { more: true });
    assert.match(
      (parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), 1) as { refused: string }).refused,
      /longer than 107/,
    );
    assert.match(
      (parseProxyHeader(line('PROXY TCP4 999.1.1.1.1 x 1 2'), 1) as { refused: string }).refused,
      /malformed/,
    );
    assert.match(
      (parseProxyHeader(line('PROXY TCP4 ::1 ::1 1 2'), 1) as { refused: string }).refused,
      /malformed/,
    );
    assert.match(
      (parseProxyHeader(connectBytes, 1) as { refused: string }).refused,
      /no PROXY protocol v1 header/,
    );
  });

  it('v2: IPv4, IPv6, LOCAL, the SSL TLV with a verified CN; truncated, oversize and missing refused', () => {
    const plain = parseProxyHeader(Buffer.concat([v2('203.0.113.7', 5555), connectBytes]), 2);
    assert.deepEqual(plain, {
      header: { version: 2, local: false, source: { address: '203.0.113.7', port: 5555 } },
      length: 28,
    });
    const six = parseProxyHeader(v2('2001:db8:0:0:0:0:0:1', 4000), 2) as { header: { source: unknown } };
    assert.deepEqual(six.header.source, { address: '2001:db8:0:0:0:0:0:1', port: 4000 });
    assert.equal(
      (parseProxyHeader(v2('10.0.0.1', 1, Buffer.alloc(0), 0), 2) as { header: { local: boolean } }).header
        .local,
      true,
    );
    const unix = Buffer.concat([v2('10.0.0.1', 1).subarray(0, 16), Buffer.alloc(216)]);
    unix[13] = 0x31; // AF_UNIX, stream
    unix.writeUInt16BE(216, 14);
    unix.write('/run/lb.sock', 16, 'latin1');
    assert.deepEqual((parseProxyHeader(unix, 2) as { header: { source: unknown } }).header.source, {
      address: '/run/lb.sock',
      port: 0,
    });
    const tls = parseProxyHeader(v2('10.0.0.1', 1, sslTlv(0x07, 0, 'device-1')), 2) as {
      header: { tls: unknown };
    };
    assert.deepEqual(tls.header.tls, { clientCertificate: true, verified: true, commonName: 'device-1' });
    const failed = parseProxyHeader(v2('10.0.0.1', 1, sslTlv(0x07, 18, 'device-1')), 2) as {
      header: { tls: { verified: boolean } };
    };
    assert.equal(failed.header.tls.verified, false, 'a non-zero verify field is not verified');
    const whole = v2('10.0.0.1', 1, sslTlv(0x07, 0, 'device-1'));
    assert.deepEqual(parseProxyHeader(whole.subarray(0, whole.length - 2), 2), { more: true });
    const lying = Buffer.from(whole);
    lying.writeUInt16BE(V2_MAX, 14);
    assert.match((parseProxyHeader(lying, 2) as { refused: string }).refused, /at most/);
    const truncatedTlv = v2('10.0.0.1', 1, Buffer.from([0x20, 0x00, 0x09, 0x01]));
    assert.match((parseProxyHeader(truncatedTlv, 2) as { refused: string }).refused, /truncated TLV/);
    assert.match(
      (parseProxyHeader(connectBytes, 2) as { refused: string }).refused,
      /no PROXY protocol v2 header/,
    );
  });
});

describe('mosquitto.conf', () => {
  it('enable_proxy_protocol and proxy_protocol_v2_require_tls; require_certificate and use_identity_as_username judge what the proxy verified', async () => {
    const dir = (await createTestPki()).dir;
    const conf = join(dir, 'proxied.conf');
    writeFileSync(
      conf,
      [
        'listener 1883 127.0.0.1',
        'enable_proxy_protocol 2',
        'proxy_protocol_v2_require_tls true',
        'require_certificate true',
        'use_identity_as_username true',
        'listener 1884 127.0.0.1',
        'enable_proxy_protocol 1',
        '',
      ].join('\n'),
    );
    const config = await loadConfigFile(conf);
    const [v2Listener, v1Listener] = config.listeners;
    assert.equal(v2Listener?.proxyProtocol, 2);
    assert.equal(v2Listener?.proxyRequireTls, true);
    assert.equal(v2Listener?.proxyClientCertificates, 'required');
    assert.equal(v2Listener?.proxyUseIdentityAsUsername, true);
    assert.equal(v2Listener?.tls, undefined);
    assert.equal(v1Listener?.proxyProtocol, 1);
    writeFileSync(conf, 'listener 1883\nenable_proxy_protocol 3\n');
    await assert.rejects(loadConfigFile(conf), /proxied\.conf:2: .*not a PROXY protocol version/);
  });
});

let pki: TestPki;
let haproxy: Started | undefined;
const brokers: Broker[] = [];

before(async () => {
  pki = await createTestPki();
});
after(async () => {
  await haproxy?.stop();
  for (const b of brokers) await b.close();
});

async function proxied(
  listener: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Broker> {
  const broker = await createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0, ...listener }],
      allowAnonymous: true,
      sysInterval: 0,
      ...extra,
    },
    pino({ level: 'silent' }),
  );
  brokers.push(broker);
  return broker;
}

/** Writes `bytes` to the listener; resolves with what came back before the socket closed or 2 s passed. */
function exchange(port: number, bytes: Buffer): Promise<{ reply: Buffer; closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(bytes));
    let reply = Buffer.alloc(0);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      resolve({ reply, closed, socket });
    };
    socket.on('data', (d) => {
      reply = Buffer.concat([reply, d]);
      if (reply.length >= 4) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => finish(false), 2000);
  });
}

const remotes = (broker: Broker) => [...broker.core.owners].map((o) => o.channel.remoteAddress);

describe('a listener with proxyProtocol', () => {
  it('takes the client address from the header (v1 and v2), and LOCAL on the real address', async () => {
    const one = await proxied({ proxyProtocol: 1 });
    const v1 = await exchange(
      one.listeners[0]!.port,
      Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 5555 1883\r\n'), connectBytes]),
    );
    assert.deepEqual([...v1.reply.subarray(0, 4)], [0x20, 0x02, 0x00, 0x00], 'CONNACK accepted');
    assert.deepEqual(remotes(one), ['203.0.113.7:5555']);
    v1.socket.destroy();
    const two = await proxied({ proxyProtocol: 2 });
    const viaV2 = await exchange(
      two.listeners[0]!.port,
      Buffer.concat([v2('198.51.100.9', 4242), connectBytes]),
    );
    assert.equal(viaV2.reply[0], 0x20);
    assert.deepEqual(remotes(two), ['198.51.100.9:4242']);
    viaV2.socket.destroy();
    const local = await exchange(
      two.listeners[0]!.port,
      Buffer.concat([v2('10.0.0.1', 1, Buffer.alloc(0), 0), connectBytes]),
    );
    assert.equal(local.reply[0], 0x20);
    await until(
      'the LOCAL connection listed',
      () => remotes(two).some((r) => r.startsWith('127.0.0.1:')),
      2000,
    );
    local.socket.destroy();
  });

  it('refuses a connection without a header, with a malformed one, or from outside trustedProxies, and counts them', async () => {
    const broker = await proxied({ proxyProtocol: 2 });
    const port = broker.listeners[0]!.port;
    const bare = await exchange(port, connectBytes);
    assert.equal(bare.closed, true);
    assert.equal(bare.reply.length, 0, 'no CONNACK without a header');
    const lying = v2('10.0.0.1', 1);
    lying.writeUInt16BE(60_000, 14);
    assert.equal((await exchange(port, lying)).closed, true);
    assert.equal(broker.core.stats.handshakeFailures['PROXY header missing or malformed'], 2);
    const guarded = await proxied({ proxyProtocol: 1, trustedProxies: ['10.0.0.0/8', 'fd00::/8'] });
    const outsider = await exchange(
      guarded.listeners[0]!.port,
      Buffer.concat([Buffer.from('PROXY TCP4 1.2.3.4 10.0.0.1 5 6\r\n'), connectBytes]),
    );
    assert.equal(outsider.closed, true);
    assert.equal(guarded.core.stats.handshakeFailures['PROXY header from an untrusted peer'], 1);
  });

  it('on an mqtts listener the header comes before the TLS handshake (a load balancer passing TLS through)', async () => {
    const broker = await proxied({
      proxyProtocol: 1,
      tls: {
        certFile: pki.servers.valid.cert,
        keyFile: pki.servers.valid.key,
        caFile: pki.caFile,
        clientCertificates: 'required',
        usernameFrom: 'cn',
      },
    });
    const port = broker.listeners[0]!.port;
    const raw = tcpConnect(port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write('PROXY TCP6 2001:db8::7 2001:db8::1 6000 8883\r\n');
    const secure = tlsConnect({
      socket: raw,
      servername: 'localhost',
      ca: readFileSync(pki.caFile),
      cert: readFileSync(pki.clients.valid.cert),
      key: readFileSync(pki.clients.valid.key),
    });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const connack = new Promise<Buffer>((resolve) => secure.once('data', resolve));
    secure.write(connectBytes);
    assert.equal((await within(connack, 5000, 'CONNACK over TLS'))[0], 0x20);
    const seen = [...broker.core.owners].find((o) => o.currentSession?.clientId === 'behind-lb');
    assert.equal(seen?.channel.remoteAddress, '2001:db8::7:6000');
    assert.equal(seen?.username, 'device-1', "warden's own handshake verified the certificate");
    secure.destroy();
    // A ClientHello with no header before it is refused before TLS starts.
    const bare = tlsConnect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: readFileSync(pki.caFile),
    });
    bare.on('error', () => undefined);
    await until(
      'the bare handshake refused',
      () => broker.core.stats.handshakeFailures['PROXY header missing or malformed'] === 1,
      5000,
    );
    bare.destroy();
  });

  it('on a WebSocket listener the header comes before the HTTP upgrade', async () => {
    const broker = await proxied({ protocol: 'ws', proxyProtocol: 2 });
    const port = broker.listeners[0]!.port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt', {
      createConnection: () => {
        const socket = tcpConnect(port, '127.0.0.1');
        socket.write(v2('192.0.2.44', 7000));
        return socket;
      },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const connack = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
    ws.send(connectBytes);
    assert.equal((await within(connack, 5000, 'CONNACK over WebSocket'))[0], 0x20);
    assert.deepEqual(remotes(broker), ['192.0.2.44:7000']);
    ws.close();
    const bare = await exchange(port, Buffer.from('GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(bare.closed, true, 'an HTTP request without a header is refused');
  });

  it('on a wss listener the header comes before the TLS handshake', async () => {
    const broker = await proxied({
      protocol: 'ws',
      proxyProtocol: 1,
      tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
    });
    const port = broker.listeners[0]!.port;
    const ws = new WebSocket(`wss://localhost:${port}/mqtt`, 'mqtt', {
      createConnection: () => {
        const raw = tcpConnect(port, '127.0.0.1');
        raw.write('PROXY TCP4 192.0.2.45 10.0.0.1 7001 443\r\n');
        return tlsConnect({ socket: raw, servername: 'localhost', ca: readFileSync(pki.caFile) });
      },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const connack = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
    ws.send(connectBytes);
    assert.equal((await within(connack, 5000, 'CONNACK over wss'))[0], 0x20);
    assert.deepEqual(remotes(broker), ['192.0.2.45:7001']);
    ws.close();
  });

  it("behind haproxy terminating TLS: the CN haproxy verified is the user name the ACL judges, and the device's address is seen", async () => {
    const aclFile = join(pki.dir, 'proxy.acl');
    writeFileSync(aclFile, 'user device-1\ntopic readwrite devices/device-1/#\n');
    const broker = await proxied(
      {
        proxyProtocol: 2,
        proxyClientCertificates: 'required',
        proxyUseIdentityAsUsername: true,
        proxyRequireTls: true,
      },
      { aclFile, allowAnonymous: false },
    );
    const front = await freePort();
    const pem = join(pki.dir, 'haproxy-server.pem');
    writeFileSync(
      pem,
      readFileSync(pki.servers.valid.cert, 'utf8') + readFileSync(pki.servers.valid.key, 'utf8'),
    );
    const cfg = join(pki.dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      [
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend mqtts',
        `  bind 127.0.0.1:${front} ssl crt ${pem} ca-file ${pki.caFile} verify optional`,
        '  default_backend warden',
        'backend warden',
        `  server w 127.0.0.1:${broker.listeners[0]!.port} send-proxy-v2-ssl-cn`,
        '',
      ].join('\n'),
    );
    haproxy = start('haproxy', ['-db', '-f', cfg]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = tcpConnect(front, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        }).on('error', () => resolve(false));
      });
      if (up) break;
      assert.ok(Date.now() < deadline, `haproxy did not listen on ${front}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const device = await within(
      mqtt.connectAsync(`mqtts://127.0.0.1:${front}`, {
        clientId: 'dev-1',
        protocolVersion: 5,
        reconnectPeriod: 0,
        ca: readFileSync(pki.caFile),
        cert: readFileSync(pki.clients.valid.cert),
        key: readFileSync(pki.clients.valid.key),
      }),
      10_000,
      'device through haproxy',
    );
    const seen = [...broker.core.owners].find((o) => o.currentSession?.clientId === 'dev-1');
    assert.equal(seen?.username, 'device-1', 'the CN haproxy verified');
    assert.equal(
      seen?.channel.remoteAddress,
      `127.0.0.1:${(device.stream as Socket).localPort}`,
      "the device's own address",
    );
    const got: string[] = [];
    device.on('message', (topic) => got.push(topic));
    await device.subscribeAsync('devices/device-1/#', { qos: 1 });
    // Another device's topic is denied by the ACL (v5 PUBACK 0x87), its own is delivered.
    await assert.rejects(
      device.publishAsync('devices/device-2/t', 'not mine', { qos: 1 }),
      /Not authorized|135/i,
    );
    await device.publishAsync('devices/device-1/t', 'mine', { qos: 1 });
    await until('its own topic back', () => got.includes('devices/device-1/t'), 5000);
    await device.endAsync();
    // Without a client certificate haproxy lets it through (verify optional); warden refuses it.
    const anonymous = mqtt.connect(`mqtts://127.0.0.1:${front}`, {
      clientId: 'no-cert',
      reconnectPeriod: 0,
      ca: readFileSync(pki.caFile),
    });
    anonymous.on('error', () => undefined);
    await until(
      'the refusal counted',
      () => broker.core.stats.handshakeFailures['PROXY: no verified client certificate'] === 1,
      5000,
    );
    anonymous.end(true);
  });
});
