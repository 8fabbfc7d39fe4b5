// TLS-PSK for devices that cannot hold certificates: identities and keys from a Mosquitto-format
// psk_file, driven by mosquitto_pub/mosquitto_sub --psk/--psk-identity; the identity becomes the
// user name; an unknown identity and a wrong key are refused with their reasons.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { type Broker, loadConfigFile } from '../../src/broker/index.js';
import { createBroker } from '../support/memory-broker.js';
import { run, start } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-psk-'));
const pskFile = join(dir, 'psk');
writeFileSync(pskFile, '# identity:key\nsensor-7:00112233445566778899aabbccddeeff\nsensor-8:0badc0de\n');
let broker: Broker;
const logs: Array<Record<string, unknown>> = [];

before(async () => {
  const conf = join(dir, 'psk.conf');
  // As a Mosquitto user writes it: psk_file is a general option, psk_hint makes the listener PSK.
  writeFileSync(
    conf,
    [
      'psk_file ' + pskFile,
      'listener 0 127.0.0.1',
      'psk_hint warden-test',
      'allow_anonymous false',
      'sys_interval 0',
    ].join('\n'),
  );
  broker = await createBroker(
    await loadConfigFile(conf),
    pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l)) }),
  );
});
after(() => broker?.close());

const port = () => String(broker.listeners[0]!.port);
const psk = (identity: string, key: string) => [
  '-h',
  '127.0.0.1',
  '-p',
  port(),
  '--psk-identity',
  identity,
  '--psk',
  key,
];

describe('TLS-PSK', () => {
  it('mosquitto_sub and mosquitto_pub with --psk connect, and the identity is the user name', async () => {
    const sub = start('mosquitto_sub', [
      ...psk('sensor-8', '0badc0de'),
      '-t',
      'psk/t',
      '-C',
      '1',
      '-W',
      '10',
      '-i',
      'psk-sub',
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('subscriber not connected')), 10_000);
        const check = () => {
          if (!logs.some((l) => l.clientId === 'psk-sub' && l.msg === 'client connected'))
            return void setTimeout(check, 20);
          clearTimeout(t);
          resolve();
        };
        check();
      });
      const pub = await run('mosquitto_pub', [
        ...psk('sensor-7', '00112233445566778899aabbccddeeff'),
        '-t',
        'psk/t',
        '-m',
        'over psk',
        '-i',
        'psk-pub',
      ]);
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal((await sub.done(10_000)).stdout.trim(), 'over psk');
    } finally {
      sub.process.kill();
    }
    const connected = logs.find((l) => l.clientId === 'psk-pub' && l.msg === 'client connected');
    assert.equal(connected?.username, 'sensor-7');
    assert.equal(connected?.certificate, 'psk:sensor-7');
  });

  it('TLS 1.2 PSK suites too, for devices without TLS 1.3', async () => {
    const pub = await run('mosquitto_pub', [
      ...psk('sensor-7', '00112233445566778899aabbccddeeff'),
      '--tls-version',
      'tlsv1.2',
      '-t',
      'psk/12',
      '-m',
      'x',
      '-i',
      'psk-12',
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal(
      logs.find((l) => l.clientId === 'psk-12' && l.msg === 'client connected')?.username,
      'sensor-7',
    );
  });

  it('an unknown identity and a wrong key are refused, each with its reason', async () => {
    const stats = broker.core.stats.handshakeFailures;
    assert.notEqual(
      (await run('mosquitto_pub', [...psk('intruder', '00112233'), '-t', 'x', '-m', 'x'])).code,
      0,
    );
    assert.equal(stats['unknown PSK identity "intruder"'], 1);
    assert.notEqual(
      (await run('mosquitto_pub', [...psk('sensor-7', 'ffffffff'), '-t', 'x', '-m', 'x'])).code,
      0,
    );
    assert.equal(stats['wrong PSK key'], 1);
  });

  it('a malformed psk file stops the start, naming file:line', async () => {
    const bad = join(dir, 'bad-psk');
    writeFileSync(bad, 'sensor-1:00ff\nsensor-2 00ff\n');
    await assert.rejects(
      createBroker(
        { listeners: [{ host: '127.0.0.1', port: 0, tls: { pskFile: bad } }], sysInterval: 0 },
        pino({ level: 'silent' }),
      ),
      new RegExp(`PSK file ${bad}:2: expected "identity:hexkey"`),
    );
  });
});
