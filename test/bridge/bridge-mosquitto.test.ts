// A bridge from warden to Debian's mosquitto (issue 16, first step): outgoing and incoming topics
// with their prefixes remapped, the link state retained on $SYS/broker/connection/<id>/state here
// and on the remote broker, and the link to mosquitto down (a TCP proxy refusing it) while 1,000
// QoS 1 messages are published here: every one of them reaches the remote subscriber once it is
// back. Then a bridge from a mosquitto.conf, warden SIGKILLed while the link is down: what it had
// acknowledged is sent after its restart.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import type { Broker } from '../../src/broker/index.js';
import { createBroker } from '../support/memory-broker.js';
import { mqttClient } from '../support/mqtt-clients.js';
import { type Started, start, until, WARDEN } from '../support/processes.js';
import { proxy } from '../support/tcp-proxy.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-bridge-'));
let remotePort: number;
let mosquitto: Started | undefined;
let warden: Broker;
/** Between the bridges and mosquitto: the link is taken down here, while the test's own clients stay connected. */
let link: Awaited<ReturnType<typeof proxy>>;
const clients: MqttClient[] = [];

async function startMosquitto(): Promise<void> {
  const conf = join(dir, 'remote.conf');
  writeFileSync(
    conf,
    [
      `listener ${remotePort} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'max_queued_messages 10000',
      '',
    ].join('\n'),
  );
  mosquitto = start('mosquitto', ['-c', conf]);
  await mosquitto.waitFor(/mosquitto version .* running/, 10_000);
}

const client = (url: string, clientId: string, extra: mqtt.IClientOptions = {}) =>
  mqttClient(clients, url, clientId, extra);

before(async () => {
  remotePort = await freePort();
  await startMosquitto();
  link = await proxy(remotePort);
  warden = await createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      allowAnonymous: true,
      sysInterval: 0,
      bridges: [
        {
          name: 'central',
          addresses: [{ host: '127.0.0.1', port: link.port }],
          remoteClientId: 'site-a',
          restartTimeout: { base: 0.2, cap: 1 },
          topics: [
            { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'site/', remotePrefix: 'site-a/' },
            { pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: 'local/', remotePrefix: '' },
          ],
        },
      ],
    },
    pino({ level: process.env.TEST_LOG ?? 'silent' }),
  );
});
after(async () => {
  for (const c of clients) c.end(true);
  await warden?.close();
  link?.close();
  await mosquitto?.stop();
});

describe('a bridge to mosquitto', () => {
  it('carries out and in topics with their prefixes, and tells its state here and there', async () => {
    const local = `mqtt://127.0.0.1:${warden.listeners[0]!.port}`;
    const remote = `mqtt://127.0.0.1:${remotePort}`;
    const here = await client(local, 'here', { clean: true });
    const hereGot: string[] = [];
    here.on('message', (topic, payload) => hereGot.push(`${topic} ${payload}`));
    await here.subscribeAsync(['local/cmd/#', '$SYS/broker/connection/+/state'], { qos: 1 });
    await until('the link up, here', () => hereGot.includes('$SYS/broker/connection/site-a/state 1'), 10_000);
    const there = await client(remote, 'central-sub', { clean: false });
    const thereGot: string[] = [];
    there.on('message', (topic, payload) => thereGot.push(`${topic} ${payload}`));
    await there.subscribeAsync(['site-a/sensors/#', '$SYS/broker/connection/site-a/state'], { qos: 1 });
    await until(
      'the link up, there',
      () => thereGot.includes('$SYS/broker/connection/site-a/state 1'),
      10_000,
    );
    await here.publishAsync('site/sensors/t1', '21.5', { qos: 1 });
    await until(
      'the reading at the central broker',
      () => thereGot.includes('site-a/sensors/t1 21.5'),
      10_000,
    );
    await there.publishAsync('cmd/reboot', 'now', { qos: 1 });
    await until('the command here', () => hereGot.includes('local/cmd/reboot now'), 10_000);
  });

  it('keeps 1,000 QoS 1 messages (and 200 the other way) while the link to mosquitto is down, and sends them all once it is back', async () => {
    const local = `mqtt://127.0.0.1:${warden.listeners[0]!.port}`;
    const received = new Set<string>();
    const there = clients.find((c) => c.options.clientId === 'central-sub')!;
    there.on('message', (topic, payload) => {
      if (topic === 'site-a/sensors/burst') received.add(payload.toString());
    });
    const states: string[] = [];
    const watcher = await client(local, 'state-watcher', { clean: true });
    watcher.on('message', (_topic, payload) => states.push(payload.toString()));
    await watcher.subscribeAsync('$SYS/broker/connection/site-a/state', { qos: 0 });
    link.down();
    await until('the link down, here', () => states.at(-1) === '0', 10_000);
    const publisher = await client(local, 'burst-publisher', { clean: true });
    for (let n = 0; n < 1000; n++) await publisher.publishAsync('site/sensors/burst', String(n), { qos: 1 });
    // Incoming too: published at mosquitto while the link is down, kept in the bridge's
    // persistent session there.
    const commands = new Set<string>();
    const here = await client(local, 'command-reader', { clean: true });
    here.on('message', (topic, payload) => {
      if (topic === 'local/cmd/burst') commands.add(payload.toString());
    });
    await here.subscribeAsync('local/cmd/burst', { qos: 1 });
    for (let n = 0; n < 200; n++) await there.publishAsync('cmd/burst', String(n), { qos: 1 });
    link.up();
    await until('all 1,000 at the central broker', () => received.size === 1000, 60_000);
    await until('all 200 commands here', () => commands.size === 200, 30_000);
    await until('the link up again', () => states.at(-1) === '1', 10_000);
  });

  it("from a mosquitto.conf: what was acknowledged while the link was down survives warden's SIGKILL", async () => {
    const received = new Set<string>();
    const there = clients.find((c) => c.options.clientId === 'central-sub')!;
    await there.subscribeAsync('site-b/#', { qos: 1 });
    there.on('message', (topic, payload) => {
      if (topic === 'site-b/burst/x') received.add(payload.toString());
    });
    link.down();
    const conf = join(dir, 'warden.conf');
    writeFileSync(
      conf,
      [
        'listener 0 127.0.0.1',
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/warden/`,
        'connection central-b',
        `address 127.0.0.1:${link.port}`,
        'remote_clientid site-b',
        'restart_timeout 1 2',
        'topic burst/# out 1 site/ site-b/',
        '',
      ].join('\n'),
    );
    const run = async () => {
      const node = start('node', [...WARDEN, 'broker', '-c', conf]);
      const [, port] = await node.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/, 20_000);
      return { node, port: Number(port) };
    };
    const first = await run();
    const publisher = await client(`mqtt://127.0.0.1:${first.port}`, 'restart-publisher', {
      clean: true,
      reconnectPeriod: 0,
    });
    for (let n = 0; n < 300; n++) await publisher.publishAsync('site/burst/x', String(n), { qos: 1 });
    first.node.process.kill('SIGKILL');
    assert.equal((await first.node.done(5000)).signal, 'SIGKILL');
    const second = await run();
    try {
      link.up();
      await until('all 300 at the central broker', () => received.size === 300, 60_000);
    } finally {
      second.node.process.kill('SIGKILL');
      await second.node.done(5000);
    }
  });
});
