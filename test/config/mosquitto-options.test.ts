// mosquitto.conf options beyond the basics, each driven by real peers against a broker started
// from a real mosquitto.conf: check_retain_source with an ACL file that is reloaded,
// use_username_as_clientid with mosquitto_pub, dhparamfile with openssl s_client.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import { type Broker, loadConfigFile } from '../../src/broker/index.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { run, until, within } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-mosquitto-options-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
let pki: TestPki;
let broker: Broker;
const logs: Array<Record<string, unknown>> = [];
const aclFile = join(dir, 'acl');
const ACL_BEFORE = 'user alice\ntopic write r/#\n\nuser carol\ntopic write r/#\n\npattern read #\n';

before(async () => {
  pki = await createTestPki();
  writeFileSync(aclFile, ACL_BEFORE);
  const dhparam = join(dir, 'dhparam.pem');
  // RFC 7919's ffdhe2048 group: what `openssl dhparam 2048` would write, without its minute of search.
  const made = await run(
    'openssl',
    ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', dhparam],
    30_000,
  );
  assert.equal(made.code, 0, made.stderr);
  const conf = write(
    'mosquitto.conf',
    [
      'per_listener_settings true',
      'listener 0 127.0.0.1',
      'allow_anonymous true',
      `acl_file ${aclFile}`,
      'listener 0 127.0.0.1',
      'allow_anonymous true',
      'use_username_as_clientid true',
      'listener 0 127.0.0.1',
      'allow_anonymous true',
      `certfile ${pki.servers.rsa.cert}`,
      `keyfile ${pki.servers.rsa.key}`,
      `dhparamfile ${dhparam}`,
      'ciphers DHE-RSA-AES128-GCM-SHA256',
      'listener 0 127.0.0.1',
      'allow_anonymous true',
      `certfile ${pki.servers.rsa.cert}`,
      `keyfile ${pki.servers.rsa.key}`,
      'ciphers DHE-RSA-AES128-GCM-SHA256',
      'sys_interval 0',
    ].join('\n'),
  );
  broker = await createBroker(
    await loadConfigFile(conf),
    pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
  );
});
after(() => broker?.close());

const portOf = (n: number) => broker.listeners[n]!.port;

describe('check_retain_source (on by default, as in mosquitto)', () => {
  it('a retained message is withheld from new subscribers once its publisher lost the write right', async () => {
    const url = `mqtt://127.0.0.1:${portOf(0)}`;
    const publisher = async (username: string, topic: string) => {
      const client = await within(mqtt.connectAsync(url, { username, reconnectPeriod: 0 }), 5000, username);
      await client.publishAsync(topic, `retained by ${username}`, { qos: 1, retain: true });
      await client.endAsync();
    };
    await publisher('alice', 'r/alice');
    await publisher('carol', 'r/carol');
    writeFileSync(aclFile, ACL_BEFORE.replace('user alice\ntopic write r/#\n', 'user alice\n'));
    const [reloaded] = await broker.reloadSecurity();
    assert.equal(reloaded?.ok, true, reloaded?.error);

    const reader = await within(
      mqtt.connectAsync(url, { username: 'dave', reconnectPeriod: 0 }),
      5000,
      'dave',
    );
    const got: string[] = [];
    reader.on('message', (topic) => void got.push(topic));
    await reader.subscribeAsync('r/#', { qos: 1 });
    // A sentinel published after the subscription: every retained message came before it.
    await publisher('carol', 'r/sentinel');
    await until('the sentinel', () => got.includes('r/sentinel'), 5000);
    await reader.endAsync();
    assert.deepEqual(got.sort(), ['r/carol', 'r/sentinel']);
  });
});

describe('use_username_as_clientid', () => {
  it('mosquitto_pub -u meter-7 -i anything is known as meter-7; without -u it is refused as not authorised', async () => {
    const pub = (args: string[]) =>
      run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(portOf(1)), '-t', 'u/t', '-m', 'x', ...args]);
    const accepted = await pub(['-u', 'meter-7', '-i', 'anything']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.ok(logs.some((l) => l.msg === 'client connected' && l.clientId === 'meter-7'));
    assert.ok(!logs.some((l) => l.msg === 'client connected' && l.clientId === 'anything'));
    const refused = await pub(['-i', 'anything', '-V', 'mqttv311']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not authori[sz]ed/i);
  });
});

describe('dhparamfile', () => {
  /** openssl s_client asking a listener for the DHE suite alone, on TLS 1.2. */
  const dheHandshake = (listener: number) =>
    run(
      'openssl',
      [
        ...['s_client', '-connect', `127.0.0.1:${portOf(listener)}`, '-tls1_2'],
        ...['-cipher', 'DHE-RSA-AES128-GCM-SHA256', '-CAfile', pki.caFile, '-servername', 'localhost'],
      ],
      10_000,
      '',
    );

  it('enables the TLS 1.2 DHE suites, which Node leaves off without parameters', async () => {
    const result = await dheHandshake(2);
    assert.match(result.stdout, /Cipher is DHE-RSA-AES128-GCM-SHA256/, result.stderr);
    assert.match(result.stdout, /Server Temp Key: DH, 2048 bits/);
    const without = await dheHandshake(3);
    assert.match(
      without.stdout,
      /Cipher is \(NONE\)/,
      'the same listener without dhparamfile has no DHE suite',
    );
  });

  it('a file without DH parameters stops the start, naming it', async () => {
    const conf = write(
      'bad-dh.conf',
      [
        'listener 0 127.0.0.1',
        `certfile ${pki.servers.rsa.cert}`,
        `keyfile ${pki.servers.rsa.key}`,
        `dhparamfile ${pki.caFile}`,
      ].join('\n'),
    );
    await assert.rejects(
      createBroker(await loadConfigFile(conf), pino({ level: 'silent' })),
      /DH parameters file .*ca\.crt: no PEM "DH PARAMETERS" in it/,
    );
  });
});
