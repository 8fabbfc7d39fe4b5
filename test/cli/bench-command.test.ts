// warden bench as a person runs it, over TLS with the PKI of this run: conn opens and times its
// clients, sub counts exactly what pub sent at QoS 1 and times it from the stamp in the payload,
// mosquitto_sub sees pub's stamped messages, and a refused connection is an error with its reason.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import type { BenchResult } from '../../src/cli/bench-load.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { run, start, WARDEN } from '../support/processes.js';

let pki: TestPki;
let broker: Broker;
let port: string;
let closedPort: string;

before(async () => {
  pki = await createTestPki();
  const tls = { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key };
  broker = await createBroker(
    {
      listeners: [
        { host: '127.0.0.1', port: 0, tls, allowAnonymous: true },
        { host: '127.0.0.1', port: 0, tls },
      ],
      sysInterval: 0,
    },
    pino({ level: 'silent' }),
  );
  port = String(broker.listeners[0]!.port);
  closedPort = String(broker.listeners[1]!.port);
});
after(() => broker.close());

const trust = (p = port) => ['-h', 'localhost', '-p', p, '--cafile', pki.caFile];
const summary = (stdout: string) => JSON.parse(stdout) as BenchResult;
/** `warden bench <mode>` over TLS to `p` with these flags. */
const bench = (mode: string, flags: string[], p = port) => [...WARDEN, 'bench', mode, ...trust(p), ...flags];

describe('warden bench', () => {
  it('conn opens every client over TLS and times each to its CONNACK', async () => {
    const result = await run('node', bench('conn', ['-c', '20', '--duration', '0', '--json']), 30_000);
    assert.equal(result.code, 0, result.stderr);
    const r = summary(result.stdout);
    assert.equal(r.connected, 20);
    assert.equal(r.errors, 0);
    assert.equal(r.latency?.samples, 20);
    assert.ok(r.latency!.p50 > 0 && r.latency!.p50 <= r.latency!.max);
    assert.ok(r.rate > 0);
  });

  it('sub receives every QoS 1 message pub sent, timed from its stamp; mosquitto_sub sees the same messages', async () => {
    const sub = start(
      'node',
      bench('sub', ['-c', '3', '-t', 'bench/%i', '-q', '1', '--duration', '6', '--json']),
    );
    const peer = start('mosquitto_sub', [
      ...trust(),
      '-i',
      'bench-peer',
      '-t',
      'bench/0',
      '-C',
      '1',
      '-q',
      '1',
    ]);
    try {
      await sub.waitFor(/3 of 3 clients connected and subscribed/, 15_000);
      const peerSubscribed = () => broker.core.sessions.get('bench-peer')?.subscriptionCount === 1;
      for (let i = 0; i < 100 && !peerSubscribed(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(peerSubscribed(), 'mosquitto_sub subscribed within 5 s');
      const pub = await run(
        'node',
        bench('pub', [
          '-c',
          '3',
          '-t',
          'bench/%i',
          '-q',
          '1',
          '-r',
          '20',
          '-s',
          '64',
          '--duration',
          '1',
          '--json',
        ]),
        20_000,
      );
      assert.equal(pub.code, 0, pub.stderr);
      const sent = summary(pub.stdout);
      assert.equal(sent.errors, 0);
      assert.ok(sent.sent >= 30, `sent ${sent.sent}`);
      assert.equal(sent.latency?.samples, sent.sent, 'every QoS 1 publish acknowledged and timed');
      const seen = await peer.done(10_000);
      assert.equal(seen.code, 0, seen.stderr);
      assert.equal(seen.stdout.length, 65, 'one 64-byte payload and a newline');
      assert.ok(seen.stdout.startsWith('WBNC'), 'the stamp is at the start of the payload');
      const received = await sub.done(20_000);
      assert.equal(received.code, 0, received.stderr);
      const r = summary(received.stdout);
      assert.equal(r.received, sent.sent);
      assert.equal(r.latency?.samples, sent.sent);
      assert.ok(r.latency!.p99 < 5000, `p99 ${r.latency!.p99} ms`);
      assert.equal(r.disconnected, 0);
    } finally {
      await sub.stop();
      await peer.stop();
    }
  });

  it('a refused client is an error naming the reason, and no client at all is exit code 1', async () => {
    const result = await run('node', bench('conn', ['-c', '3', '--duration', '0'], closedPort), 30_000);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /connected 0, disconnected 0, sent 0, received 0, errors 3/);
    assert.match(result.stdout, /first error: .*(not authorized|Not authorized|0x87|135)/i);
  });
});
