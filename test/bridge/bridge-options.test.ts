// A bridge's other settings, warden to warden (issue 16): two addresses with round_robin false
// (the link moves to the secondary when the main one goes away, and back once it answers),
// bridge_max_packet_size (a bigger message is dropped and counted, the next one goes), the link
// in /api/bridges and in /metrics (checked by Debian's promtool), and the mosquitto.conf
// directives read into the native schema.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import { type Broker, loadConfigFile } from '../../src/broker/index.js';
import { createBroker } from '../support/memory-broker.js';
import { run, until, within } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-bridge-opt-'));
const TOKEN = 'bridge-admin-token-77a1';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`);
const silent = pino({ level: process.env.TEST_LOG ?? 'silent' });
let mainPort: number;
let main: Broker | undefined;
let secondary: Broker;
let warden: Broker;
const clients: MqttClient[] = [];

const remoteBroker = (port: number) =>
  createBroker({ listeners: [{ host: '127.0.0.1', port }], allowAnonymous: true, sysInterval: 0 }, silent);

/** A client subscribed to `filter`, with the payloads it received. */
async function reader(port: number, clientId: string, filter: string) {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId, reconnectPeriod: 0 });
  c.on('error', () => undefined);
  clients.push(c);
  await within(new Promise((resolve) => c.once('connect', resolve)), 10_000, clientId);
  const got: string[] = [];
  c.on('message', (_t, p) => got.push(p.toString()));
  await c.subscribeAsync(filter, { qos: 1 });
  return got;
}

let publisher: MqttClient;
const publish = (payload: string | Buffer) => publisher.publishAsync('x/t', payload, { qos: 1 });
const status = () => warden.bridges[0]!;

before(async () => {
  mainPort = await freePort();
  main = await remoteBroker(mainPort);
  secondary = await remoteBroker(0);
  warden = await createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      allowAnonymous: true,
      sysInterval: 0,
      admin: { port: 0, tokenFile },
      bridges: [
        {
          name: 'main',
          addresses: [
            { host: '127.0.0.1', port: mainPort },
            { host: '127.0.0.1', port: secondary.listeners[0]!.port },
          ],
          protocolVersion: 5,
          restartTimeout: { base: 0.1, cap: 0.5 },
          maxPacketSize: 200,
          topics: [{ pattern: 'x/#', direction: 'out', qos: 1 }],
        },
      ],
    },
    silent,
  );
  publisher = mqtt.connect(`mqtt://127.0.0.1:${warden.listeners[0]!.port}`, { clientId: 'pub' });
  clients.push(publisher);
  await within(new Promise((resolve) => publisher.once('connect', resolve)), 10_000, 'publisher');
});

after(async () => {
  for (const c of clients) c.end(true);
  await warden?.close();
  await main?.close();
  await secondary?.close();
});

describe('bridge options', () => {
  it('round_robin false: to the secondary while the main address is away, back to the main one once it answers', async () => {
    const atMain = await reader(mainPort, 'main-reader', 'x/#');
    await until(
      'up at the main address',
      () => status().up === 1 && status().address.endsWith(`:${mainPort}`),
      10_000,
    );
    await publish('one');
    await until('one at the main broker', () => atMain.includes('one'), 10_000);

    await main!.close();
    main = undefined;
    const atSecondary = await reader(secondary.listeners[0]!.port, 'secondary-reader', 'x/#');
    await publish('two');
    await until('two at the secondary', () => atSecondary.includes('two'), 15_000);
    assert.equal(status().address, `127.0.0.1:${secondary.listeners[0]!.port}`);

    main = await remoteBroker(mainPort);
    const atMainAgain = await reader(mainPort, 'main-reader-2', 'x/#');
    await until(
      'back at the main address',
      () => status().up === 1 && status().address.endsWith(`:${mainPort}`),
      20_000,
    );
    await publish('three');
    await until('three at the main broker', () => atMainAgain.includes('three'), 10_000);
    assert.ok(!atSecondary.includes('three'));
  });

  it('an IPv6 address (mosquitto.conf address [::1]:port) is reached', async () => {
    const remote = await createBroker(
      { listeners: [{ host: '::1', port: 0 }], allowAnonymous: true, sysInterval: 0 },
      silent,
    );
    const port = remote.listeners[0]!.port;
    const conf = join(dir, 'ipv6.conf');
    writeFileSync(
      conf,
      `listener 0 127.0.0.1\nallow_anonymous true\nconnection six\naddress [::1]:${port}\ntopic v6/# out 1\n`,
    );
    const local = await createBroker(await loadConfigFile(conf), silent);
    try {
      await until('the link up', () => local.bridges[0]?.up === 1, 10_000);
      assert.equal(local.bridges[0]!.address, `[::1]:${port}`);
      const got: string[] = [];
      const c = mqtt.connect(`mqtt://[::1]:${port}`, { clientId: 'v6-reader', reconnectPeriod: 0 });
      clients.push(c);
      await within(new Promise((resolve) => c.once('connect', resolve)), 10_000, 'v6 reader');
      c.on('message', (_t, p) => got.push(p.toString()));
      await c.subscribeAsync('v6/#', { qos: 1 });
      const p = mqtt.connect(`mqtt://127.0.0.1:${local.listeners[0]!.port}`, { clientId: 'v6-pub' });
      clients.push(p);
      await within(new Promise((resolve) => p.once('connect', resolve)), 10_000, 'v6 publisher');
      await p.publishAsync('v6/t', 'over ipv6', { qos: 1 });
      await until('the message over the IPv6 link', () => got.includes('over ipv6'), 10_000);
    } finally {
      await local.close();
      await remote.close();
    }
  });

  it('bridge_max_packet_size: a bigger message is dropped and counted, the next one goes', async () => {
    const got = await reader(mainPort, 'size-reader', 'x/#');
    await publish(Buffer.alloc(500, 'b'));
    await publish('after');
    await until('the message after it', () => got.includes('after'), 10_000);
    assert.equal(got.length, 1, 'only the small one arrived');
    assert.equal(status().dropped.tooBig, 1);
  });

  it('/api/bridges and /metrics show the link (promtool check metrics)', async () => {
    const get = (path: string) =>
      fetch(`${warden.admin!.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const api = (await (await get('/api/bridges')).json()) as { bridges: Array<Record<string, unknown>> };
    assert.equal(api.bridges.length, 1);
    assert.equal(api.bridges[0]!.name, 'main');
    assert.equal(api.bridges[0]!.up, 1);
    assert.equal(api.bridges[0]!.address, `127.0.0.1:${mainPort}`);
    assert.deepEqual(api.bridges[0]!.dropped, { tooBig: 1, offline: 0, queueFull: 0 });
    assert.ok((api.bridges[0]!.sent as number) >= 4);
    assert.ok((api.bridges[0]!.connects as number) >= 3, 'main, secondary, main again');
    const text = await (await get('/metrics')).text();
    assert.match(text, /^warden_bridge_up\{bridge="main"\} 1$/m);
    assert.match(text, /^warden_bridge_dropped_total\{bridge="main",reason="too_big"\} 1$/m);
    assert.match(text, /^warden_bridge_queued_messages\{bridge="main"\} 0$/m);
    const checked = await run('promtool', ['check', 'metrics'], 20_000, text);
    assert.equal(checked.code, 0, `${checked.stdout}${checked.stderr}`);
    assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '', 'no lint findings');
  });

  it('a link that never comes up: QoS 1 waits bounded by max_queued_messages, the rest and QoS 0 counted as dropped', async () => {
    const nowhere = await freePort();
    const tiny = await createBroker(
      {
        listeners: [{ host: '127.0.0.1', port: 0 }],
        allowAnonymous: true,
        sysInterval: 0,
        maxInflight: 20,
        maxQueuedMessages: 50,
        bridges: [
          {
            name: 'nowhere',
            addresses: [{ host: '127.0.0.1', port: nowhere }],
            restartTimeout: { base: 60, cap: 60 },
            topics: [{ pattern: 'q/#', direction: 'out', qos: 1 }],
          },
        ],
      },
      silent,
    );
    try {
      const c = mqtt.connect(`mqtt://127.0.0.1:${tiny.listeners[0]!.port}`, { clientId: 'q-pub' });
      clients.push(c);
      await within(new Promise((resolve) => c.once('connect', resolve)), 10_000, 'q-pub');
      for (let n = 0; n < 300; n++) await c.publishAsync('q/t', String(n), { qos: 1 });
      await c.publishAsync('q/t', 'qos0', { qos: 0 });
      // A QoS 1 sentinel after the QoS 0 one: on the same connection, routed after it.
      await c.publishAsync('q/t', 'sentinel', { qos: 1 });
      // The QoS 0 message reaches the bridge through its in-process connection, which the
      // sentinel's PUBACK does not wait for.
      await until('the QoS 0 message at the bridge', () => tiny.bridges[0]!.dropped.offline === 1, 5000);
      const s = tiny.bridges[0]!;
      assert.equal(s.up, 0);
      assert.equal(s.queued, 50, '20 in flight to the bridge, 50 queued');
      assert.deepEqual(s.dropped, { tooBig: 0, offline: 1, queueFull: 231 });
    } finally {
      await tiny.close();
    }
  });

  it("reads mosquitto.conf's bridge directives into the native schema", async () => {
    const path = join(dir, 'bridge.conf');
    writeFileSync(
      path,
      [
        'listener 1883 127.0.0.1',
        'connection central',
        'address broker-a.example:8883 broker-b.example',
        'topic tele/# out 1 site/ central/',
        'topic cmd/# in 2',
        'bridge_protocol_version mqttv50',
        'try_private false',
        'round_robin true',
        'start_type once',
        'local_cleansession true',
        'bridge_max_packet_size 4096',
        'bridge_cafile /etc/ca.pem',
        'bridge_capath /etc/ssl/certs',
        'bridge_alpn mqtt',
        'bridge_tls_version tlsv1.3',
        'bridge_insecure false',
        '',
        'connection psk-link',
        'address 10.0.0.1:8884',
        'topic # both 0',
        'bridge_identity site-7',
        'bridge_psk 0011aabb',
      ].join('\n'),
    );
    const config = await loadConfigFile(path);
    const [central, psk] = config.bridges!;
    assert.deepEqual(central!.addresses, [
      { host: 'broker-a.example', port: 8883 },
      { host: 'broker-b.example', port: 1883 },
    ]);
    assert.equal(central!.protocolVersion, 5);
    assert.equal(central!.tryPrivate, false);
    assert.equal(central!.roundRobin, true);
    assert.equal(central!.startType, 'once');
    assert.equal(central!.localCleanSession, true);
    assert.equal(central!.maxPacketSize, 4096);
    assert.deepEqual(central!.tls, {
      caFile: '/etc/ca.pem',
      caPath: '/etc/ssl/certs',
      alpn: ['mqtt'],
      minVersion: 'TLSv1.3',
      insecure: false,
    });
    assert.deepEqual(psk!.tls, {
      psk: { identity: 'site-7', key: '0011aabb' },
      minVersion: 'TLSv1.2',
      insecure: false,
    });
    assert.equal(psk!.tryPrivate, true, "mosquitto's default");
    for (const [line, expected] of [
      [
        'bridge_tls_version tlsv1.1',
        /bridge_tls_version: "tlsv1.1" is not supported: warden speaks tlsv1.2 and tlsv1.3/,
      ],
      ['start_type lazy', /start_type: "lazy" is not supported by warden bridges/],
    ] as const) {
      writeFileSync(path, ['listener 1883', 'connection c', 'address h', 'topic # out', line, ''].join('\n'));
      await assert.rejects(loadConfigFile(path), (error: Error) => {
        assert.match(error.message, expected);
        return true;
      });
    }
  });
});
