// The promise persistence makes, tested as it would be broken: a real `warden broker` process on
// its default embedded store, killed with SIGKILL (no shutdown code runs) while MQTT.js streams
// QoS 1 and QoS 2 messages to a 30-day persistent session, restarted on the same data directory
// each time. Every message acknowledged to the publisher reaches the subscriber, QoS 2 ones
// exactly once; the retained message and the subscription survive; the session outlives its
// client's absence (above 2^31 ms, where a plain setTimeout would have ended it at once). Then a
// kill while a subscriber drains its queue: what was in flight is resent with DUP.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { ReasonCode } from '../../src/protocol/index.js';
import { type Started, start, until, WARDEN, within } from '../support/processes.js';

let dataDir = mkdtempSync(join(tmpdir(), 'warden-kill9-'));
const MESSAGES = 300;
/** Acknowledged-message counts at which the broker is killed, mid-stream. */
const KILL_AT = [40, 120, 210];
const WINDOW = 25;
const THIRTY_DAYS = 30 * 86_400;

let broker: Started;
let port = 0;

/** Starts the broker on the data directory (port 0 the first time, the same port after). */
async function startBroker(): Promise<string> {
  broker = start('node', [
    ...WARDEN,
    'broker',
    '-p',
    String(port),
    '--no-ws',
    '--no-tls',
    '--data-dir',
    dataDir,
  ]);
  const [, bound] = await broker.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/, 20_000);
  port = Number(bound);
  const [line] = await broker.waitFor(/store \S+: recovered .*\n/, 20_000);
  return line;
}

async function kill9(): Promise<void> {
  broker.process.kill('SIGKILL');
  const result = await broker.done(5000);
  assert.equal(result.signal, 'SIGKILL');
}

const connect = (clientId: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> => {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId,
    protocolVersion: 5,
    clean: false,
    reconnectPeriod: 100,
    connectTimeout: 5000,
    resubscribe: false,
    ...extra,
  });
  client.on('error', () => undefined); // reconnects on its own while the broker is down
  return within(
    new Promise((resolve) => client.once('connect', () => resolve(client))),
    10_000,
    `${clientId} connect`,
  );
};

describe('SIGKILL at several points', () => {
  it('loses no acknowledged message, delivers QoS 2 once, keeps retained messages and subscriptions', async () => {
    const first = await startBroker();
    assert.match(first, /recovered 0 session/);
    try {
      const sub = await connect('kill9-sub', { properties: { sessionExpiryInterval: THIRTY_DAYS } });
      await sub.subscribeAsync('kill9/stream/#', { qos: 2 });
      await sub.publishAsync('kill9/retained', 'kept', { qos: 1, retain: true });
      await sub.endAsync();

      const pub = await connect('kill9-pub', { properties: { sessionExpiryInterval: 3600 } });
      const acked = new Set<number>();
      const failures: string[] = [];
      const kills = [...KILL_AT];
      const recoveries: string[] = [];
      let outstanding = 0;
      let wake: () => void = () => undefined;
      const qosOf = (i: number) => (i % 2 === 0 ? 1 : 2);
      for (let i = 0; i < MESSAGES; i++) {
        while (outstanding >= WINDOW) await new Promise<void>((resolve) => (wake = resolve));
        outstanding++;
        pub.publish(`kill9/stream/${i}`, `m-${i}`, { qos: qosOf(i) }, (error) => {
          outstanding--;
          // A PUBREL resent after a restart finds its flow already completed (the kill came
          // between committing the PUBREL and sending the PUBCOMP): PUBCOMP 0x92 [MQTT-4.3.3]. The
          // broker had acknowledged that message with its PUBREC.
          const code = (error as { code?: number } | null)?.code;
          if (!error || (qosOf(i) === 2 && code === ReasonCode.PacketIdentifierNotFound)) acked.add(i);
          else failures.push(`${i}: ${error.message}`);
          wake();
        });
        if (kills.length > 0 && acked.size >= kills[0]!) {
          kills.shift();
          await kill9();
          recoveries.push(await startBroker());
        }
      }
      await until('every message acknowledged', () => acked.size === MESSAGES, 60_000).catch(
        (error: Error) => {
          throw new Error(
            `${error.message}: ${acked.size} of ${MESSAGES}; refused: ${failures.join('; ') || 'none'}`,
          );
        },
      );
      assert.equal(recoveries.length, KILL_AT.length, 'the broker was killed at every point');
      assert.ok(
        recoveries.some((line) => !/, 0 queued message/.test(line)),
        `messages were queued at some kill: ${recoveries.join('')}`,
      );
      await pub.endAsync();
      await kill9();
      await startBroker();

      const received = new Map<number, number>();
      let sentinel = false;
      const back = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        clientId: 'kill9-sub',
        protocolVersion: 5,
        clean: false,
        reconnectPeriod: 0,
        resubscribe: false,
        properties: { sessionExpiryInterval: THIRTY_DAYS },
      });
      // Before the CONNACK: the queue may come in the same read as it.
      back.on('message', (topic) => {
        if (topic === 'kill9/stream/sentinel') sentinel = true;
        const n = Number(topic.split('/')[2]);
        if (Number.isInteger(n)) received.set(n, (received.get(n) ?? 0) + 1);
      });
      const present = await within(
        new Promise<boolean>((resolve) => back.once('connect', (connack) => resolve(connack.sessionPresent))),
        10_000,
        'subscriber connect',
      );
      assert.equal(present, true, 'the 30-day session survived');
      // The queue is delivered first; a message published now comes after all of it. QoS 2 like
      // half the queue: MQTT.js hands a QoS 2 message over at its PUBREL, a QoS 1 one at once, so
      // only a QoS 2 sentinel is sure to come out last.
      const probe = await connect('kill9-probe', { clean: true });
      await probe.publishAsync('kill9/stream/sentinel', 'end', { qos: 2 });
      const missingNow = () => [...acked].filter((i) => !received.has(i));
      await until('the sentinel after the queue', () => sentinel && missingNow().length === 0, 20_000).catch(
        () => undefined,
      ); // the assertions below say what is missing
      assert.ok(sentinel, 'the sentinel arrived');
      const missing = missingNow();
      assert.deepEqual(missing, [], 'every acknowledged message arrived');
      const twice = [...received].filter(([i, n]) => qosOf(i) === 2 && n > 1).map(([i]) => i);
      assert.deepEqual(twice, [], 'no QoS 2 message arrived twice');
      await back.endAsync();

      const reader = await connect('kill9-reader', { clean: true });
      const retained = await within(
        new Promise<{ payload: string; retain: boolean }>((resolve) => {
          reader.on('message', (_t, payload, packet) =>
            resolve({ payload: payload.toString(), retain: packet.retain }),
          );
          void reader.subscribeAsync('kill9/retained', { qos: 1 });
        }),
        10_000,
        'retained message',
      );
      assert.deepEqual(retained, { payload: 'kept', retain: true });
      await Promise.all([reader.endAsync(), probe.endAsync()]);
    } finally {
      if (broker.process.exitCode === null) await broker.stop();
    }
  });

  it('while a subscriber drains its queue: what was in flight comes again with DUP, nothing is lost', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'warden-kill9-drain-'));
    port = 0;
    await startBroker();
    try {
      const sub = await connect('drain-sub', { properties: { sessionExpiryInterval: 3600 } });
      await sub.subscribeAsync('drain/#', { qos: 2 });
      await sub.endAsync();
      const pub = await connect('drain-pub', { clean: true });
      const QUEUED = 100;
      const qosOf = (i: number) => (i % 2 === 0 ? 1 : 2);
      await Promise.all(
        Array.from({ length: QUEUED }, (_, i) => pub.publishAsync(`drain/${i}`, `d-${i}`, { qos: qosOf(i) })),
      );
      await pub.endAsync();

      // The subscriber (mqtt-packet over a socket, so that it can hold its acknowledgements back)
      // takes what comes and acknowledges nothing until the broker has been killed. A QoS 2
      // message counts when its flow completes (PUBREL): a resend before that is the same message.
      const received = new Map<string, number>();
      let publishes = 0;
      let resent = 0;
      const subscriber = (acknowledge: boolean) => {
        const socket = tcpConnect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
        const parser = mqttPacket.parser({ protocolVersion: 5 });
        const send = (packet: object) =>
          socket.write(mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: 5 }));
        const count = (topic: string) => received.set(topic, (received.get(topic) ?? 0) + 1);
        const awaitingRelease = new Map<number, string>();
        parser.on('packet', (packet) => {
          if (packet.cmd === 'pubrel') {
            const topic = awaitingRelease.get(packet.messageId!);
            if (topic !== undefined) count(topic);
            awaitingRelease.delete(packet.messageId!);
            send({ cmd: 'pubcomp', messageId: packet.messageId });
          }
          if (packet.cmd !== 'publish') return;
          publishes++;
          if (packet.dup) resent++;
          if (!acknowledge) return;
          if (packet.qos === 1) {
            count(packet.topic);
            send({ cmd: 'puback', messageId: packet.messageId });
          } else {
            awaitingRelease.set(packet.messageId!, packet.topic);
            send({ cmd: 'pubrec', messageId: packet.messageId });
          }
        });
        socket.on('data', (d) => parser.parse(d));
        send({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: false,
          clientId: 'drain-sub',
          keepalive: 0,
          properties: { sessionExpiryInterval: 3600 },
        });
        return socket;
      };
      const holding = subscriber(false);
      // The broker's in-flight window (20) fills and waits for acknowledgements that do not come.
      await until('the in-flight window full', () => publishes >= 20);
      await kill9();
      holding.destroy();
      await startBroker();
      const draining = subscriber(true);
      const topics = Array.from({ length: QUEUED }, (_, i) => `drain/${i}`);
      await until('every queued message', () => topics.every((t) => received.has(t)));
      // Then a QoS 2 sentinel: once its flow is complete, no duplicate can still be on its way.
      const probe = await connect('drain-probe', { clean: true });
      await probe.publishAsync('drain/sentinel', 'end', { qos: 2 });
      await until('the sentinel', () => received.has('drain/sentinel'));
      await probe.endAsync();
      draining.destroy();
      assert.ok(resent >= 20, `the unacknowledged messages came again with DUP (${resent} did)`);
      const twice = topics.filter((t, i) => qosOf(i) === 2 && received.get(t) !== 1);
      assert.deepEqual(twice, [], 'each QoS 2 message completed once');
    } finally {
      if (broker.process.exitCode === null) await broker.stop();
    }
  });
});
