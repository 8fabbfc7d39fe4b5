// Bridges from warden to Debian's mosquitto over TLS (issue 16): the remote's certificate verified
// against a CA file, mutual TLS (mosquitto takes the bridge's certificate CN as its user name),
// TLS-PSK (the identity as user name), a trust provider judging alone, and a remote whose certificate comes from another CA: the
// bridge says at which stage and why, and mosquitto never sees its client id. Then try_private:
// a "both" topic over MQTT 3.1.1 with the bridge flag, and each message arrives once on each side.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import type { Broker, BrokerConfigInput } from '../../src/broker/index.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { assertNoLoop } from '../support/bridge-loop.js';
import { createBroker } from '../support/memory-broker.js';
import { mqttClient } from '../support/mqtt-clients.js';
import { type Started, start, until } from '../support/processes.js';

type BridgeInput = NonNullable<BrokerConfigInput['bridges']>[number];

const PSK_KEY = '00112233445566778899aabbccddeeff';
let pki: TestPki;
let serverFingerprint: string;
let mosquitto: Started;
let warden: Broker;
const ports = { plain: 0, tls: 0, mtls: 0, psk: 0 };
const logs: Array<{ bridge?: string; msg: string; reason?: string; stage?: string; code?: string }> = [];
const clients: MqttClient[] = [];

/** mosquitto started as root reads its files after dropping to its own user: world-readable copies. */
function readable(dir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, from] of Object.entries(files)) {
    out[name] = join(dir, name);
    copyFileSync(from, out[name]);
    chmodSync(out[name], 0o644);
  }
  return out;
}

const client = (url: string, clientId: string) => mqttClient(clients, url, clientId, { clean: true });

/** A bridge carrying <name>/up/# out as site-<name>/up/#, and site-<name>/down/# in as <name>/down/#. */
const bridge = (name: string, port: number, extra: Partial<BridgeInput>): BridgeInput => ({
  name,
  addresses: [{ host: 'localhost', port }],
  remoteClientId: `site-${name}`,
  restartTimeout: { base: 0.2, cap: 1 },
  topics: [
    { pattern: 'up/#', direction: 'out', qos: 1, localPrefix: `${name}/`, remotePrefix: `site-${name}/` },
    { pattern: 'down/#', direction: 'in', qos: 1, localPrefix: `${name}/`, remotePrefix: `site-${name}/` },
  ],
  ...extra,
});

before(async () => {
  pki = await createTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'warden-bridge-tls-'));
  chmodSync(dir, 0o755);
  const files = readable(dir, {
    'ca.pem': pki.caFile,
    'server.crt': pki.servers.valid.cert,
    'server.key': pki.servers.valid.key,
  });
  serverFingerprint = new X509Certificate(readFileSync(pki.servers.valid.cert)).fingerprint256;
  const pskFile = join(dir, 'psk.txt');
  writeFileSync(pskFile, `site-psk:${PSK_KEY}\n`, { mode: 0o644 });
  for (const name of Object.keys(ports) as Array<keyof typeof ports>) ports[name] = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const tlsFiles = [`certfile ${files['server.crt']}`, `keyfile ${files['server.key']}`];
  writeFileSync(
    conf,
    [
      'per_listener_settings false',
      'allow_anonymous true',
      `psk_file ${pskFile}`,
      `listener ${ports.plain} 127.0.0.1`,
      `listener ${ports.tls} 127.0.0.1`,
      ...tlsFiles,
      `listener ${ports.mtls} 127.0.0.1`,
      ...tlsFiles,
      `cafile ${files['ca.pem']}`,
      'require_certificate true',
      'use_identity_as_username true',
      `listener ${ports.psk} 127.0.0.1`,
      'psk_hint warden',
      'use_identity_as_username true',
      '',
    ].join('\n'),
  );
  mosquitto = start('mosquitto', ['-c', conf, '-v']);
  await mosquitto.waitFor(/mosquitto version .* running/, 10_000);
  const sink = {
    write(line: string) {
      logs.push(JSON.parse(line));
    },
  };
  warden = await createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      allowAnonymous: true,
      sysInterval: 0,
      bridges: [
        bridge('tls', ports.tls, { tls: { caFile: pki.caFile } }),
        bridge('mtls', ports.mtls, {
          tls: { caFile: pki.caFile, certFile: pki.clients.valid.cert, keyFile: pki.clients.valid.key },
        }),
        bridge('psk', ports.psk, { tls: { psk: { identity: 'site-psk', key: PSK_KEY } } }),
        bridge('badca', ports.tls, { tls: { caFile: pki.fakeCaFile } }),
        // No CA at all: the trust provider alone judges, by the server certificate's fingerprint.
        bridge('provider', ports.tls, { tls: {} }),
        {
          name: 'private',
          addresses: [{ host: '127.0.0.1', port: ports.plain }],
          remoteClientId: 'site-private',
          protocolVersion: 4,
          restartTimeout: { base: 0.2, cap: 1 },
          topics: [{ pattern: 'shared/#', direction: 'both', qos: 1 }],
        },
      ],
    },
    pino({ level: 'info' }, sink),
    {
      bridgeTrust: {
        provider: {
          replacesVerification: true,
          verify: async (peer) =>
            peer.chain[0]?.fingerprint256 === serverFingerprint
              ? { accept: true }
              : { accept: false, reason: 'not the pinned server certificate' },
        },
      },
    },
  );
});

after(async () => {
  for (const c of clients) c.end(true);
  await warden?.close();
  await mosquitto?.stop();
});

describe('bridges to mosquitto over TLS', () => {
  for (const [name, who] of [
    ['tls', /as site-tls \(p2, c0, k60\)/],
    ['mtls', /as site-mtls \(p2, c0, k60, u'device-1'\)/],
    ['psk', /as site-psk \(p2, c0, k60, u'site-psk'\)/],
    ['provider', /as site-provider \(p2, c0, k60\)/],
  ] as const) {
    it(`${name}: carries messages both ways once the remote is verified`, async () => {
      await mosquitto.waitFor(who, 15_000);
      const here = await client(`mqtt://127.0.0.1:${warden.listeners[0]!.port}`, `here-${name}`);
      const there = await client(`mqtt://127.0.0.1:${ports.plain}`, `there-${name}`);
      const hereGot: string[] = [];
      const thereGot: string[] = [];
      here.on('message', (t, p) => hereGot.push(`${t} ${p}`));
      there.on('message', (t, p) => thereGot.push(`${t} ${p}`));
      await here.subscribeAsync([`${name}/down/#`, `$SYS/broker/connection/site-${name}/state`], { qos: 1 });
      await there.subscribeAsync(`site-${name}/up/#`, { qos: 1 });
      await until(
        `${name} up`,
        () => hereGot.includes(`$SYS/broker/connection/site-${name}/state 1`),
        15_000,
      );
      await here.publishAsync(`${name}/up/reading`, '42', { qos: 1 });
      await until(`${name}: out`, () => thereGot.includes(`site-${name}/up/reading 42`), 10_000);
      await there.publishAsync(`site-${name}/down/cmd`, 'go', { qos: 1 });
      await until(`${name}: in`, () => hereGot.includes(`${name}/down/cmd go`), 10_000);
    });
  }

  it('a remote certificate from another CA: refused at verification, said so, and no MQTT byte sent', async () => {
    await until(
      'the refusal in the log',
      () => logs.some((l) => l.bridge === 'badca' && l.reason !== undefined),
      15_000,
    );
    const refusal = logs.find((l) => l.bridge === 'badca' && l.reason)!;
    assert.match(refusal.msg, /remote broker not reached/);
    assert.equal(refusal.stage, 'tls-handshaking');
    assert.equal(refusal.code, 'ERR_TLS_UNKNOWN_CA');
    assert.match(refusal.reason!, /does not chain to a trusted CA/);
    // The other bridges have connected meanwhile (the tests above): mosquitto logged each
    // CONNECT it got, and none came from this one.
    await mosquitto.waitFor(/as site-psk/, 10_000);
    const printed = await mosquitto.waitFor(/[\s\S]*/);
    assert.doesNotMatch(printed[0], /site-badca/);
    assert.equal(warden.bridges.find((b) => b.name === 'badca')?.up, 0, 'the bad bridge is not up');
  });

  it('try_private over MQTT 3.1.1: a "both" topic, and each message arrives once on each side', async () => {
    await mosquitto.waitFor(/as site-private \(p2, c0, k60\)/, 15_000);
    const here = await client(`mqtt://127.0.0.1:${warden.listeners[0]!.port}`, 'here-private');
    const there = await client(`mqtt://127.0.0.1:${ports.plain}`, 'there-private');
    const hereGot: string[] = [];
    const thereGot: string[] = [];
    here.on('message', (t, p) => hereGot.push(`${t} ${p}`));
    there.on('message', (t, p) => thereGot.push(`${t} ${p}`));
    await here.subscribeAsync(['shared/#', '$SYS/broker/connection/site-private/state'], { qos: 1 });
    await there.subscribeAsync('shared/#', { qos: 1 });
    await until('private up', () => hereGot.includes('$SYS/broker/connection/site-private/state 1'), 15_000);
    await assertNoLoop({ client: here, got: hereGot }, { client: there, got: thereGot }, 'shared');
  });
});
