// warden pub, sub and diagnose as a person runs them, against warden's TLS listener over the PKI
// of this run, and side by side with mosquitto_pub/mosquitto_sub: messages both ways, JSON
// lines, failures naming their stage, and diagnose's exit code per failed step.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { run, start, WARDEN } from '../support/processes.js';

/** Runs `warden <args>` to its end. */
const cli = (...args: string[]) => run('node', [...WARDEN, ...args]);
let pki: TestPki;
let broker: Broker;
let port: string;
let closedPort: string;

before(async () => {
  pki = await createTestPki();
  const tls = (s: { cert: string; key: string }) => ({ certFile: s.cert, keyFile: s.key });
  broker = await createBroker(
    {
      listeners: [
        { host: '127.0.0.1', port: 0, tls: tls(pki.servers.valid), allowAnonymous: true },
        { host: '127.0.0.1', port: 0, tls: tls(pki.servers.valid) },
      ],
      sysInterval: 0,
    },
    pino({ level: 'silent' }),
  );
  port = String(broker.listeners[0]!.port);
  closedPort = String(broker.listeners[1]!.port);
});
after(() => broker.close());

const trust = () => ['-h', 'localhost', '--cafile', pki.caFile];

describe('warden pub and warden sub', () => {
  it('sub --json receives what pub sends over TLS; mosquitto_sub receives warden pub, warden sub receives mosquitto_pub', async () => {
    const sub = start('node', [
      ...WARDEN,
      'sub',
      ...trust(),
      '-p',
      port,
      '-t',
      'cli/#',
      '-q',
      '1',
      '--json',
      '-C',
      '2',
      '-d',
    ]);
    try {
      // Line-buffered, so its debug lines arrive as they happen (stdout is a pipe here).
      // mosquitto's clients take the same trust flags as warden's.
      const mosquittoSub = start('stdbuf', [
        '-oL',
        'mosquitto_sub',
        ...trust(),
        '-p',
        port,
        '-t',
        'cli/#',
        '-C',
        '1',
        '-v',
        '-d',
      ]);
      // Both subscribers are subscribed before anything is published.
      await sub.waitFor(/subscribed: cli\/# \(granted QoS 1\)/, 15_000);
      await mosquittoSub.waitFor(/Client .* received SUBACK/i, 15_000);
      const pub = await cli('pub', ...trust(), '-p', port, '-t', 'cli/a', '-m', 'from warden', '-q', '1');
      assert.equal(pub.code, 0, pub.stderr);
      const fromMosquitto = await run('mosquitto_pub', [
        ...trust(),
        '-p',
        port,
        '-t',
        'cli/b',
        '-m',
        'from mosquitto',
        '-q',
        '1',
      ]);
      assert.equal(fromMosquitto.code, 0, fromMosquitto.stderr);
      const seen = await sub.done(10_000);
      const lines = seen.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { topic: string; payload: string; qos: number; retain: boolean });
      assert.deepEqual(
        lines.map((l) => [l.topic, l.payload, l.qos, l.retain]),
        [
          ['cli/a', 'from warden', 1, false],
          ['cli/b', 'from mosquitto', 1, false],
        ],
      );
      const other = await mosquittoSub.done(10_000);
      assert.match(other.stdout, /^cli\/a from warden$/m);
    } finally {
      await sub.stop();
    }
  });

  it('a failed connection names its stage and reason, exit code 1', async () => {
    const wrongCa = await cli(
      'pub',
      '-h',
      'localhost',
      '-p',
      port,
      '--cafile',
      pki.fakeCaFile,
      '-t',
      't',
      '-m',
      'x',
    );
    assert.equal(wrongCa.code, 1);
    assert.match(
      wrongCa.stderr,
      /^Error: unknown CA: CN=localhost .* \(stage tls-handshaking, ERR_TLS_UNKNOWN_CA\)$/m,
    );
    const refused = await cli('pub', ...trust(), '-p', closedPort, '-t', 't', '-m', 'x', '-V', 'mqttv311');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /Error: CONNACK 0x05 not authorized \(stage connect-sent, ERR_CONNACK_REFUSED\)/,
    );
    const usage = await cli('pub', '-t', 't');
    assert.notEqual(usage.code, 0);
    assert.match(usage.stderr, /give exactly one of -m, -f, -l, -s, -n/);
  });
});

describe('warden diagnose', () => {
  it('prints every step and exits 0 on a good broker; --json carries the same', async () => {
    const ok = await cli('diagnose', `mqtts://localhost:${port}`, '--cafile', pki.caFile);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    for (const step of ['tcp', 'tls', 'chain', 'verify', 'alpn', 'ocsp', 'connect'])
      assert.match(ok.stdout, new RegExp(`^${step} `, 'm'));
    assert.match(ok.stdout, /^verify .* OK .* trusted, localhost matches$/m);
    assert.match(ok.stdout, /^connect .* OK .* 0x00 accepted/m);
    assert.match(
      ok.stdout,
      /\[0\] CN=localhost\n\s+issuer CN=Warden Test Intermediate, O=Warden Tests; EC prime256v1/,
    );
    const json = await cli('diagnose', `mqtts://localhost:${port}`, '--cafile', pki.caFile, '--json');
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      exitCode: number;
      chain: Array<{ key: string }>;
      connack: { reasonCode: number };
    };
    assert.equal(report.ok, true);
    assert.equal(report.chain[0]?.key, 'EC prime256v1');
    assert.equal(report.connack.reasonCode, 0);
  });

  it('the exit code names the failed step: 4 verification, 2 TCP, 5 CONNECT', async () => {
    const unknownCa = await cli('diagnose', `mqtts://localhost:${port}`, '--cafile', pki.fakeCaFile);
    assert.equal(unknownCa.code, 4);
    assert.match(unknownCa.stdout, /FAILED at verify/);
    assert.match(unknownCa.stdout, /ERR_TLS_UNKNOWN_CA/);
    const host = await cli(
      'diagnose',
      `mqtts://127.0.0.1:${port}`,
      '--cafile',
      pki.caFile,
      '--servername',
      'broker.example.com',
    );
    assert.equal(host.code, 4);
    assert.match(host.stdout, /ERR_TLS_HOSTNAME_MISMATCH: hostname broker\.example\.com not in SAN/);
    const tcp = await cli('diagnose', 'mqtts://127.0.0.1:1', '--cafile', pki.caFile);
    assert.equal(tcp.code, 2);
    assert.match(tcp.stdout, /^tcp .* FAIL .*ECONNREFUSED/m);
    const connect = await cli('diagnose', `mqtts://localhost:${closedPort}`, '--cafile', pki.caFile);
    assert.equal(connect.code, 5);
    assert.match(connect.stdout, /^connect .* FAIL .* 0x87 NotAuthorized/m);
  });
});
