// Bridges with warden on the remote side (issue 16): Debian's mosquitto bridging into warden over
// MQTT 3.1.1 with try_private (warden takes the bridge flag: it sends the bridge nothing back of
// what it published), and warden bridging to warden over MQTT 5 with prefixes remapped. Then the
// remote warden SIGKILLed while 1,000 QoS 1 messages are published here: all arrive once it is
// back with its own persistence.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import type { Broker } from '../../src/broker/index.js';
import { assertNoLoop } from '../support/bridge-loop.js';
import { createBroker } from '../support/memory-broker.js';
import { mqttClient } from '../support/mqtt-clients.js';
import { type Started, start, until, WARDEN } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-bridge-w-'));
let remotePort: number;
let remote: Started | undefined;
let mosquittoPort: number;
let mosquitto: Started | undefined;
let warden: Broker;
const clients: MqttClient[] = [];

const client = (port: number, clientId: string, extra: mqtt.IClientOptions = {}) =>
  mqttClient(clients, `mqtt://127.0.0.1:${port}`, clientId, { clean: true, ...extra });

/** A client subscribed to `filters`, with what it received as "<topic> <payload>". */
async function listener(port: number, clientId: string, filters: string[], extra: mqtt.IClientOptions = {}) {
  const c = await client(port, clientId, extra);
  const got: string[] = [];
  c.on('message', (t, p) => got.push(`${t} ${p}`));
  await c.subscribeAsync(filters, { qos: 1 });
  return { client: c, got };
}

/** The remote warden, from a mosquitto.conf with persistence; the same port every time. */
async function startRemote(): Promise<void> {
  const conf = join(dir, 'remote.conf');
  writeFileSync(
    conf,
    [
      `listener ${remotePort} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/remote/`,
      '',
    ].join('\n'),
  );
  remote = start('node', [...WARDEN, 'broker', '-c', conf]);
  await remote.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:\d+/, 20_000);
}

before(async () => {
  remotePort = await freePort();
  mosquittoPort = await freePort();
  await startRemote();
  warden = await createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      allowAnonymous: true,
      sysInterval: 0,
      bridges: [
        {
          name: 'central',
          addresses: [{ host: '127.0.0.1', port: remotePort }],
          remoteClientId: 'site-w',
          protocolVersion: 5,
          restartTimeout: { base: 0.2, cap: 1 },
          topics: [
            { pattern: 'tele/#', direction: 'out', qos: 1, localPrefix: 'site/', remotePrefix: 'site-w/' },
            { pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: 'local/', remotePrefix: 'site-w/' },
            { pattern: 'sync/#', direction: 'both', qos: 1 },
          ],
        },
      ],
    },
    pino({ level: process.env.TEST_LOG ?? 'silent' }),
  );
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${mosquittoPort} 127.0.0.1`,
      'allow_anonymous true',
      'connection to-warden',
      `address 127.0.0.1:${warden.listeners[0]!.port}`,
      'remote_clientid mosquitto-bridge',
      'restart_timeout 1',
      'topic loop/# both 1',
      '',
    ].join('\n'),
  );
  mosquitto = start('mosquitto', ['-c', conf, '-v']);
  await mosquitto.waitFor(/mosquitto version .* running/, 10_000);
});

after(async () => {
  for (const c of clients) c.end(true);
  await warden?.close();
  await mosquitto?.stop();
  if (remote) {
    remote.process.kill('SIGKILL');
    await remote.done(5000);
  }
});

describe('bridges with warden on the remote side', () => {
  it('mosquitto bridging into warden with try_private: warden sends the bridge nothing back of what it published', async () => {
    const here = await listener(warden.listeners[0]!.port, 'w-loop', ['loop/#', '$SYS/broker/connection/#']);
    await until(
      'the mosquitto bridge up at warden',
      () => here.got.includes('$SYS/broker/connection/mosquitto-bridge/state 1'),
      15_000,
    );
    const there = await listener(mosquittoPort, 'm-loop', ['loop/#']);
    await assertNoLoop(here, there, 'loop');
  });

  it('warden to warden over MQTT 5: out and in with prefixes remapped, and "both" without a loop', async () => {
    const here = await listener(warden.listeners[0]!.port, 'w-here', [
      'local/cmd/#',
      'sync/#',
      '$SYS/broker/connection/site-w/state',
    ]);
    await until('the link up', () => here.got.includes('$SYS/broker/connection/site-w/state 1'), 15_000);
    const there = await listener(remotePort, 'w-there', ['site-w/tele/#', 'sync/#']);
    await here.client.publishAsync('site/tele/t1', '20', { qos: 1 });
    await until('out, remapped', () => there.got.includes('site-w/tele/t1 20'), 10_000);
    await there.client.publishAsync('site-w/cmd/fan', 'on', { qos: 1 });
    await until('in, remapped', () => here.got.includes('local/cmd/fan on'), 10_000);
    await assertNoLoop(here, there, 'sync');
  });

  it('the remote warden SIGKILLed: 1,000 QoS 1 messages published meanwhile all arrive once it is back', async () => {
    const received = new Set<string>();
    // A persistent session at the remote: its subscription survives the remote's restart.
    const central = await client(remotePort, 'central-reader', { clean: false });
    await central.subscribeAsync('site-w/tele/burst', { qos: 1 });
    central.on('message', (topic, payload) => {
      if (topic === 'site-w/tele/burst') received.add(payload.toString());
    });
    const states: string[] = [];
    const watcher = await client(warden.listeners[0]!.port, 'w-state');
    watcher.on('message', (_t, p) => states.push(p.toString()));
    await watcher.subscribeAsync('$SYS/broker/connection/site-w/state', { qos: 0 });
    await until('the link up', () => states.at(-1) === '1', 10_000);
    remote!.process.kill('SIGKILL');
    await remote!.done(5000);
    await until('the link down', () => states.at(-1) === '0', 10_000);
    const publisher = await client(warden.listeners[0]!.port, 'w-burst');
    for (let n = 0; n < 1000; n++) await publisher.publishAsync('site/tele/burst', String(n), { qos: 1 });
    await startRemote();
    await until('all 1,000 at the remote', () => received.size === 1000, 60_000);
    await until('the link up again', () => states.at(-1) === '1', 10_000);
  });
});
