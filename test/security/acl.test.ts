// The ACL file in Mosquitto's syntax, driven by MQTT.js on both protocol levels and by
// mosquitto_pub/mosquitto_sub: users x topics x actions, patterns with %u and %c, the anonymous
// section, a deny inside a granted tree (refused at subscribe and at delivery), $SYS writes
// refused to everyone, and a certificate identity meeting the ACL.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { issueCertificate } from '../../src/pki/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { publishAckCode, subackCode } from '../support/mqttjs-acks.js';
import { run, start } from '../support/processes.js';
import { startTestBroker } from '../support/test-broker.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-acl-'));
const aclFile = join(dir, 'acl');
writeFileSync(
  aclFile,
  `# anonymous clients
topic read public/#

user alice
topic readwrite sensors/#
topic deny sensors/secret

user bob
topic read sensors/#
topic write commands/bob

user admin
topic readwrite #

user device-1
topic write telemetry/device-1/#

pattern readwrite devices/%u/#
pattern write clients/%c/status
`,
);
const passwordFile = join(dir, 'passwords');
let broker: Broker;
let url: string;
let port: number;

before(async () => {
  const users = ['alice', 'bob', 'admin'];
  for (const [i, user] of users.entries())
    assert.equal(
      (await run('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwordFile, user, `${user}-pw`]))
        .code,
      0,
    );
  ({ broker, port, url } = await startTestBroker({
    allowAnonymous: true,
    passwordFile,
    aclFile,
    failedLoginDelay: { baseMs: 0, maxMs: 0 },
  }));
});
after(() => broker.close());

type Version = 4 | 5;
const login = (user: string | undefined, protocolVersion: Version, clientId?: string) =>
  mqtt.connectAsync(url, {
    protocolVersion,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(user === undefined ? {} : { username: user, password: `${user}-pw` }),
  });

/** What the admin publishes on `topic` reaches `client`? Waits briefly, bounded either way. */
async function receives(client: mqtt.MqttClient, topic: string): Promise<boolean> {
  const admin = await login('admin', 5);
  try {
    const got = new Promise<boolean>((resolve) => {
      const onMessage = (t: string) => {
        if (t === topic) resolve(true);
      };
      client.on('message', onMessage);
      setTimeout(() => {
        client.off('message', onMessage);
        resolve(false);
      }, 400);
    });
    await admin.publishAsync(topic, 'probe', { qos: 1 });
    return await got;
  } finally {
    await admin.endAsync();
  }
}

describe('ACL file: users x topics x actions x protocol levels', () => {
  // [user, topic filter, may subscribe]
  const subscriptions: [string | undefined, string, boolean][] = [
    [undefined, 'public/news', true],
    [undefined, 'sensors/#', false],
    ['alice', 'sensors/#', true],
    ['alice', 'sensors/secret', false],
    ['alice', '#', false],
    ['bob', 'sensors/+/temp', true],
    ['bob', 'commands/bob', false],
    ['bob', 'devices/bob/state', true],
    ['bob', 'devices/alice/state', false],
    ['alice', '$share/g/sensors/#', true], // judged by the topics it receives
    ['bob', '$share/g/commands/bob', false],
  ];
  // [user, topic, may publish]
  const publications: [string | undefined, string, boolean][] = [
    [undefined, 'public/news', false],
    ['alice', 'sensors/a', true],
    ['alice', 'sensors/secret', false],
    ['bob', 'sensors/a', false],
    ['bob', 'commands/bob', true],
    ['bob', 'commands/alice', false],
    ['bob', 'devices/bob/x', true],
    ['admin', '$SYS/broker/uptime', false],
    ['admin', 'anything/at/all', true],
  ];
  for (const version of [4, 5] as const) {
    it(`SUBACK per filter (protocol level ${version})`, async () => {
      for (const [user, filter, allowed] of subscriptions) {
        const client = await login(user, version);
        try {
          const code = await subackCode(client, filter);
          const refused = version === 5 ? 0x87 : 0x80;
          assert.equal(code, allowed ? 1 : refused, `${user ?? 'anonymous'} subscribe ${filter}`);
        } finally {
          await client.endAsync();
        }
      }
    });

    it(`PUBLISH: allowed ones are delivered; refused ones get 0x87 on v5 and vanish on 3.1.1 (protocol level ${version})`, async () => {
      const watcher = await login('admin', 5);
      await watcher.subscribeAsync('#', { qos: 1 });
      const seen: string[] = [];
      watcher.on('message', (topic, payload) => seen.push(`${topic} ${payload}`));
      try {
        for (const [user, topic, allowed] of publications) {
          const client = await login(user, version);
          const marker = `${user}-${version}-${Math.random()}`;
          try {
            const reasonCode = await publishAckCode(client, topic, marker);
            if (version === 5) assert.equal(reasonCode, allowed ? 0 : 0x87, `${user} publish ${topic}`);
            await new Promise((r) => setTimeout(r, 100));
            assert.equal(
              seen.some((s) => s.endsWith(marker)),
              allowed,
              `${user ?? 'anonymous'} publish ${topic} delivered?`,
            );
          } finally {
            await client.endAsync();
          }
        }
      } finally {
        await watcher.endAsync();
      }
    });
  }

  for (const version of [4, 5] as const)
    it(`QoS 2 to a denied topic: PUBREC 0x87 on v5; on 3.1.1 the flow completes and nothing is delivered (protocol level ${version})`, async () => {
      const watcher = await login('admin', 5);
      await watcher.subscribeAsync('sensors/#', { qos: 2 });
      const seen: string[] = [];
      watcher.on('message', (topic) => seen.push(topic));
      const bob = await login('bob', version);
      try {
        const code = await publishAckCode(bob, 'sensors/q2', 'x', 2);
        assert.equal(code, version === 5 ? 0x87 : 0);
        // The same client goes on: a publish it is allowed still goes through.
        assert.equal(await publishAckCode(bob, 'commands/bob', 'ok'), 0);
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(seen, []);
      } finally {
        await bob.endAsync();
        await watcher.endAsync();
      }
    });

  it('a deny inside a granted tree: alice subscribed to sensors/# never receives sensors/secret', async () => {
    const alice = await login('alice', 5);
    try {
      await alice.subscribeAsync('sensors/#', { qos: 1 });
      assert.equal(await receives(alice, 'sensors/open'), true);
      assert.equal(await receives(alice, 'sensors/secret'), false);
    } finally {
      await alice.endAsync();
    }
  });

  it('%c patterns follow the client id: write clients/<id>/status only for that id', async () => {
    const watcher = await login('admin', 5);
    await watcher.subscribeAsync('clients/#', { qos: 1 });
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    const client = await login('bob', 5, 'pump-7');
    try {
      assert.equal(await publishAckCode(client, 'clients/pump-7/status', 'up'), 0);
      assert.equal(await publishAckCode(client, 'clients/pump-8/status', 'up'), 0x87);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(seen, ['clients/pump-7/status']);
    } finally {
      await client.endAsync();
      await watcher.endAsync();
    }
  });

  it('mosquitto_sub and mosquitto_pub meet the same rules', async () => {
    /** mosquitto's flags to reach the broker as `user` (its password is "<user>-pw"). */
    const as = (user: string) => ['-h', '127.0.0.1', '-p', String(port), '-u', user, '-P', `${user}-pw`];
    const sub = start('stdbuf', [
      ...['-oL', 'mosquitto_sub', ...as('bob')],
      ...['-t', 'sensors/#', '-t', 'commands/#', '-q', '1', '-d', '-C', '1', '-v'],
    ]);
    try {
      // One filter granted QoS 1, the other refused: 128 on 3.1.1... mosquitto_sub speaks v3.1.1 by default.
      await sub.waitFor(/Subscribed \(mid: \d+\): 1, 128/);
      const denied = await run('mosquitto_pub', [...as('bob'), '-t', 'sensors/x', '-m', 'no', '-q', '1']);
      assert.equal(denied.code, 0, 'v3.1.1: acknowledged, then dropped');
      const allowed = await run('mosquitto_pub', [...as('alice'), '-t', 'sensors/x', '-m', 'yes', '-q', '1']);
      assert.equal(allowed.code, 0, allowed.stderr);
      const done = await sub.done(5000);
      assert.match(done.stdout, /^sensors\/x yes$/m);
      assert.doesNotMatch(done.stdout, /sensors\/x no/);
    } finally {
      await sub.stop();
    }
    const v5 = await run('mosquitto_pub', [
      ...['-V', 'mqttv5', ...as('bob')],
      ...['-t', 'sensors/x', '-m', 'no', '-q', '1', '-d'],
    ]);
    assert.match(v5.stdout + v5.stderr, /PUBACK.*rc:135|Not authori[sz]ed/i);
  });
});

describe('certificate identity and the ACL together', () => {
  let pki: TestPki;
  let tlsBroker: Broker;
  before(async () => {
    pki = await createTestPki();
    tlsBroker = await createBroker(
      {
        listeners: [
          {
            host: '127.0.0.1',
            port: 0,
            tls: mutualTls(pki, { usernameFrom: 'cn' }),
          },
        ],
        aclFile,
        sysInterval: 0,
      },
      pino({ level: 'silent' }),
    );
  });
  after(() => tlsBroker.close());

  it('the CN is the user the ACL names: device-1 writes its own telemetry and nothing else', async () => {
    const device = await issueCertificate(pki.intermediate, { name: 'device-1', kind: 'client' });
    const tlsUrl = `mqtts://localhost:${tlsBroker.listeners[0]!.port}`;
    const client = await mqtt.connectAsync(tlsUrl, {
      protocolVersion: 5,
      ca: [readFileSync(pki.caFile, 'utf8')],
      cert: device.fullChainPem,
      key: device.privateKeyPem,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    try {
      assert.equal(await publishAckCode(client, 'telemetry/device-1/t', '20'), 0);
      assert.equal(await publishAckCode(client, 'telemetry/device-2/t', '20'), 0x87);
      assert.equal(await subackCode(client, 'telemetry/#'), 0x87);
    } finally {
      await client.endAsync();
    }
  });
});
