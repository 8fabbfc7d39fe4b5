// Tracing through node:diagnostics_channel: a subscriber in the process sees every packet in and
// out, each connection open and close, and each TLS handshake admitted or refused, while
// mosquitto_pub talks to a real broker over TCP and over mutual TLS.

import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { run, until } from '../support/processes.js';

const NAMES = [
  'warden:packet:in',
  'warden:packet:out',
  'warden:connection:open',
  'warden:connection:close',
  'warden:tls:handshake',
];
const seen: Array<{ name: string; message: Record<string, unknown> }> = [];
const listeners = NAMES.map((name) => {
  const listener = (message: unknown) =>
    void seen.push({ name, message: message as Record<string, unknown> });
  return { name, listener };
});
let pki: TestPki;
let broker: Broker;

before(async () => {
  pki = await createTestPki();
  broker = await createBroker(
    {
      listeners: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0, tls: mutualTls(pki) },
      ],
      allowAnonymous: true,
      sysInterval: 0,
    },
    pino({ level: 'silent' }),
  );
  for (const { name, listener } of listeners) subscribe(name, listener);
});
after(async () => {
  for (const { name, listener } of listeners) unsubscribe(name, listener);
  await broker?.close();
});

describe('tracing channels', () => {
  it('packets in and out, connection open and close, over TCP', async () => {
    const from = seen.length;
    const done = await run('mosquitto_pub', [
      '-p',
      String(broker.listeners[0]!.port),
      '-t',
      'tr/a',
      '-m',
      'x',
      '-q',
      '1',
    ]);
    assert.equal(done.code, 0);
    await until('the close', () => seen.slice(from).some((s) => s.name === 'warden:connection:close'), 5000);
    const mine = seen.slice(from);
    const packets = mine
      .filter((s) => s.name.startsWith('warden:packet'))
      .map((s) => `${s.name.slice('warden:packet:'.length)} ${(s.message.packet as { type: string }).type}`);
    assert.deepEqual(packets, ['in connect', 'out connack', 'in publish', 'out puback', 'in disconnect']);
    assert.equal(mine[0]!.name, 'warden:connection:open');
    assert.match(String(mine[0]!.message.remote), /^127\.0\.0\.1:\d+$/);
  });

  it('TLS handshakes, admitted and refused with their reason and alert', async () => {
    const from = seen.length;
    const pub = (client: 'valid' | 'expired') =>
      run('mosquitto_pub', [
        ...['-h', 'localhost', '-p', String(broker.listeners[1]!.port), '--cafile', pki.caFile],
        ...['--cert', pki.clients[client].cert, '--key', pki.clients[client].key, '-t', 'tr/b', '-m', 'x'],
      ]);
    assert.equal((await pub('valid')).code, 0);
    assert.notEqual((await pub('expired')).code, 0);
    const handshakes = seen
      .slice(from)
      .filter((s) => s.name === 'warden:tls:handshake')
      .map((s) => s.message);
    assert.equal(handshakes.length, 2);
    assert.equal(handshakes[0]!.admitted, true);
    assert.equal(handshakes[0]!.protocol, 'TLSv1.3');
    assert.deepEqual(
      [handshakes[1]!.admitted, handshakes[1]!.reason, handshakes[1]!.alert],
      [false, 'expired', 'certificate expired'],
    );
    const open = seen.slice(from).find((s) => s.name === 'warden:connection:open');
    assert.ok(open, 'a connection:open for the admitted client');
    assert.equal((open.message.tls as { protocol: string }).protocol, 'TLSv1.3');
  });
});
