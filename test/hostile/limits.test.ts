// The limits a hostile client meets (issue 17), over real sockets: connections not past CONNECT
// (plain and TLS), connections per address, subscriptions per client, retained messages by count
// and bytes. Each refusal is counted, told with the right code, and logged once per source.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import { TurnPacer } from '../../src/broker/edge/turn-pacer.js';
import type { Broker } from '../../src/broker/index.js';
import { ClientError, connect, type MqttClient } from '../../src/client/index.js';
import {
  type ConnectPacket,
  encodePacket,
  FrameDecoder,
  type Packet,
  ReasonCode,
} from '../../src/protocol/index.js';
import { createTestPki, mutualTls, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { within } from '../support/processes.js';

let pki: TestPki;
let broker: Broker;
const logs: Array<{ msg: string; reason?: string; more?: number }> = [];
const sockets: Socket[] = [];
const clients: MqttClient[] = [];
const port = (i: number) => broker.listeners[i]!.port;

/** A clean CONNECT without keep-alive, as the raw clients here send it. */
const connectPacket = (clientId: string, version: 4 | 5 = 4, extra: Partial<ConnectPacket> = {}) =>
  encodePacket(
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: version,
      clean: true,
      keepAlive: 0,
      clientId,
      ...extra,
    },
    version,
  );

/** A TCP connection that sends nothing; resolves once it is open. */
async function idle(p: number): Promise<Socket> {
  const s = tcpConnect(p, '127.0.0.1');
  s.on('error', () => undefined);
  sockets.push(s);
  await once(s, 'connect');
  return s;
}

/** Resolves true when the broker closes the socket within 5 s without sending a byte. */
const closedUnread = (s: Socket) =>
  within(
    new Promise<boolean>((resolve) => {
      let got = 0;
      s.on('data', (d: Buffer) => (got += d.length));
      s.once('close', () => resolve(got === 0));
    }),
    5000,
    'the broker closing the socket',
  );

before(async () => {
  pki = await createTestPki();
  broker = await createBroker(
    {
      listeners: [
        { host: '127.0.0.1', port: 0, maxPendingConnects: 5 },
        {
          host: '127.0.0.1',
          port: 0,
          maxPendingConnects: 3,
          tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
        },
        { host: '127.0.0.1', port: 0, maxConnectionsPerAddress: 3 },
        { host: '127.0.0.1', port: 0 },
        {
          host: '127.0.0.1',
          port: 0,
          tls: { certFile: pki.servers.valid.cert, keyFile: pki.servers.valid.key },
        },
        // Client certificates required: TLS runs through the alert gate, which paces the flights.
        { host: '127.0.0.1', port: 0, tls: mutualTls(pki, { usernameFrom: 'cn' }) },
      ],
      allowAnonymous: true,
      sysInterval: 0,
      maxSubscriptionsPerClient: 5,
      maxRetainedMessages: 3,
      maxRetainedBytes: 200,
    },
    pino({ level: 'warn' }, { write: (line: string) => logs.push(JSON.parse(line)) }),
  );
});

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(clients.map((c) => c.end({ timeoutMs: 200 })));
  await broker?.close();
});

/** A client of a few lines, to see every SUBACK code (MQTT.js and ours reject on a refusal). */
async function rawClient(p: number, clientId: string, version: 4 | 5) {
  const socket = await idle(p);
  const decoder = new FrameDecoder({ protocolVersion: version });
  const next = () =>
    within(
      new Promise<Packet>((resolve) => {
        socket.once('data', (chunk: Buffer) => resolve(decoder.push(chunk)[0]!));
      }),
      5000,
      'a packet from the broker',
    );
  socket.write(connectPacket(clientId, version));
  assert.equal((await next()).type, 'connack');
  let id = 0;
  return {
    async subscribe(topicFilters: string[], qos: 0 | 1): Promise<readonly number[]> {
      const subscriptions = topicFilters.map((topicFilter) => ({
        topicFilter,
        qos,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      }));
      socket.write(encodePacket({ type: 'subscribe', packetId: ++id, subscriptions }, version));
      const suback = await next();
      assert.equal(suback.type, 'suback');
      return suback.type === 'suback' ? suback.reasonCodes : [];
    },
  };
}

const v5 = async (p: number, clientId: string) => {
  const c = await connect(`mqtt://127.0.0.1:${p}`, { clientId, reconnect: false });
  clients.push(c);
  return c;
};

describe('limits against hostile clients', () => {
  it('maxPendingConnects: connections past it are closed unread, counted, and logged once; room again once they go', async () => {
    const waiting = await Promise.all(Array.from({ length: 5 }, () => idle(port(0))));
    const refused = await Promise.all(Array.from({ length: 10 }, () => idle(port(0))));
    for (const s of refused) assert.ok(await closedUnread(s), 'closed without a byte');
    const reason = 'more than 5 connections are not past CONNECT yet';
    assert.equal(broker.core.stats.handshakeFailures[reason], 10);
    assert.equal(logs.filter((l) => l.reason === reason).length, 1, 'ten refusals, one log line');
    await assert.rejects(v5(port(0), 'while-full'), ClientError);
    for (const s of waiting) s.destroy();
    // Their closes reach the broker soon; a client gets in then (a few tries at most).
    let admitted = false;
    for (let tries = 0; tries < 50 && !admitted; tries++)
      admitted = await v5(port(0), 'after').then(
        () => true,
        () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50)),
      );
    assert.ok(admitted, 'a client gets in once the pending connections are gone');
  });

  it('maxPendingConnects on TLS: connections sitting before the handshake count too', async () => {
    await Promise.all(Array.from({ length: 3 }, () => idle(port(1))));
    const extra = await idle(port(1));
    assert.ok(await closedUnread(extra));
    assert.equal(broker.core.stats.handshakeFailures['more than 3 connections are not past CONNECT yet'], 1);
  });

  it('new connections start a few per turn of the event loop, in the order they came; a closed one is skipped', async () => {
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const startedIn: Record<string, number> = {};
    let lastStarted: () => void = () => undefined;
    const allStarted = new Promise<void>((resolve) => {
      lastStarted = resolve;
    });
    const pacer = new TurnPacer<{ name: string; destroyed: boolean }>(2, (socket) => {
      if (socket.destroyed) return false;
      startedIn[socket.name] = turn;
      if (socket.name === 'e') lastStarted();
      return true;
    });
    const sockets = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, destroyed: name === 'd' }));
    for (const socket of sockets) pacer.offer(socket);
    await within(allStarted, 5000, 'the last connection starting');
    ticking = false;
    assert.deepEqual(startedIn, { a: 1, b: 1, c: 2, e: 2 });
  });

  it('a burst of connections all get in, paced: 300 plain CONNECTs, 60 TLS and 40 client-certificate clients at once', async () => {
    const plain = Array.from({ length: 300 }, async (_, i) => {
      const socket = await idle(port(3));
      const connack = new Promise<Buffer>((resolve) => socket.once('data', resolve));
      socket.write(connectPacket(`b${i}`));
      return (await connack)[0];
    });
    const tls = Array.from({ length: 60 }, async (_, i) => {
      const c = await mqtt.connectAsync(`mqtts://localhost:${port(4)}`, {
        ca: readFileSync(pki.caFile),
        clientId: `t${i}`,
        reconnectPeriod: 0,
      });
      await c.endAsync();
      return 'connected';
    });
    const mutual = Array.from({ length: 40 }, async (_, i) => {
      const c = await mqtt.connectAsync(`mqtts://localhost:${port(5)}`, {
        ca: readFileSync(pki.caFile),
        cert: readFileSync(pki.clients.valid.cert),
        key: readFileSync(pki.clients.valid.key),
        clientId: `m${i}`,
        reconnectPeriod: 0,
      });
      await c.endAsync();
      return 'connected';
    });
    const [plainAcks, tlsAcks, mutualAcks] = await within(
      Promise.all([Promise.all(plain), Promise.all(tls), Promise.all(mutual)]),
      30_000,
      'the burst connecting',
    );
    assert.deepEqual(new Set(plainAcks), new Set([0x20]));
    assert.deepEqual(new Set(tlsAcks), new Set(['connected']));
    assert.deepEqual(new Set(mutualAcks), new Set(['connected']));
  });

  it('maxConnectionsPerAddress: the fourth client from 127.0.0.1 is refused before MQTT', async () => {
    for (let n = 0; n < 3; n++) await v5(port(2), `addr-${n}`);
    const fourth = await idle(port(2));
    assert.ok(await closedUnread(fourth));
    assert.equal(broker.core.stats.handshakeFailures['more than 3 connections from one address'], 1);
  });

  it('maxSubscriptionsPerClient: filters past it get 0x97 on MQTT 5 and 0x80 on 3.1.1, logged once', async () => {
    const filters = Array.from({ length: 7 }, (_, i) => `bomb/${i}`);
    const v5Client = await rawClient(port(3), 'sub-bomb', 5);
    assert.deepEqual(await v5Client.subscribe(filters, 1), [1, 1, 1, 1, 1, 0x97, 0x97]);
    assert.deepEqual(
      await v5Client.subscribe(['bomb/0'], 0),
      [0],
      'an existing filter may be subscribed again',
    );
    assert.deepEqual(await v5Client.subscribe(['more/1', 'more/2'], 0), [0x97, 0x97]);
    const v4Client = await rawClient(port(3), 'sub-bomb-311', 4);
    assert.deepEqual(await v4Client.subscribe(filters, 1), [1, 1, 1, 1, 1, 0x80, 0x80]);
    assert.equal(broker.core.stats.quotaRefusals.subscriptions, 6);
    assert.equal(logs.filter((l) => /subscription refused/.test(l.msg)).length, 2, 'once per connection');
  });

  it("a burst far past a turn's budget, ending in DISCONNECT and a close: every packet handled, in order, and no will", async () => {
    const watcher = await v5(port(3), 'burst-watcher');
    await watcher.subscribe(['burst/#', 'will/burst'], { qos: 0 });
    const socket = await idle(port(3));
    const connect = connectPacket('burster', 4, {
      will: { topic: 'will/burst', payload: Buffer.from('should not'), qos: 0, retain: false },
    });
    const publishes = Array.from({ length: 1000 }, (_, n) =>
      encodePacket(
        {
          type: 'publish',
          topic: 'burst/x',
          payload: Buffer.from(String(n)),
          qos: 0,
          retain: false,
          dup: false,
        },
        4,
      ),
    );
    socket.end(Buffer.concat([connect, ...publishes, encodePacket({ type: 'disconnect' }, 4)]));
    const inbox = watcher.messages();
    for (let n = 0; n < 1000; n++) {
      const got = (await within(inbox.next(), 5000, `message ${n}`)).value!;
      assert.equal(got.topic, 'burst/x', `at ${n}`);
      assert.equal(got.payload.toString(), String(n));
    }
    // A sentinel after the burst's end: a will would have come before it.
    await (await v5(port(3), 'burst-sentinel')).publish('burst/end', 'end', { qos: 1 });
    assert.equal((await within(inbox.next(), 5000, 'the sentinel')).value?.topic, 'burst/end');
  });

  for (const together of [false, true])
    it(`a publisher fanning out to many subscribers gives up its turn${together ? ', its burst sent with its CONNECT' : ''}: a client's PINGREQ sent after the first message is answered before the burst's 32nd`, async () => {
      // 300 subscribers that read nothing back here; their sockets take what the broker writes.
      const subscribe = (i: number) =>
        Buffer.concat([
          connectPacket(`fan-${together}-${i}`),
          encodePacket(
            {
              type: 'subscribe',
              packetId: 1,
              subscriptions: [
                { topicFilter: 'fan/x', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
              ],
            },
            4,
          ),
        ]);
      const subscribers = await Promise.all(Array.from({ length: 300 }, () => idle(port(3))));
      const subscribed = subscribers.map(
        (socket) =>
          new Promise<void>((resolve) => {
            let got = 0;
            // CONNACK (4 bytes) and SUBACK (5 bytes); what comes later is not kept.
            const onData = (chunk: Buffer) => {
              got += chunk.length;
              if (got >= 9) {
                socket.off('data', onData);
                socket.resume();
                resolve();
              }
            };
            socket.on('data', onData);
          }),
      );
      for (const [i, socket] of subscribers.entries()) socket.write(subscribe(i));
      await within(Promise.all(subscribed), 10_000, 'the subscribers subscribing');
      const probe = await idle(port(3));
      probe.write(subscribe(300));
      const decoder = new FrameDecoder({ protocolVersion: 4 });
      const seen: string[] = [];
      let pinged = false;
      const answered = new Promise<number>((resolve) =>
        probe.on('data', (chunk: Buffer) => {
          for (const packet of decoder.push(chunk)) {
            if (packet.type === 'publish') {
              seen.push(packet.topic);
              // The first message of the burst is out: the broker is in its fan-out now.
              if (!pinged) {
                pinged = true;
                probe.write(encodePacket({ type: 'pingreq' }, 4));
              }
            }
            if (packet.type === 'pingresp') resolve(seen.length);
          }
        }),
      );
      const publisher = await idle(port(3));
      const connect = connectPacket(`fan-pub-${together}`);
      const payload = Buffer.alloc(1024, 'x');
      const burst = Array.from({ length: 40 }, () =>
        encodePacket({ type: 'publish', topic: 'fan/x', payload, qos: 0, retain: false, dup: false }, 4),
      );
      if (together) {
        // What comes with CONNECT is held in the core until it is authenticated, then handed back to
        // the edge and handled under its budget.
        publisher.write(Buffer.concat([connect, ...burst]));
      } else {
        publisher.write(connect);
        await within(once(publisher, 'data'), 5000, 'the CONNACK');
        publisher.write(Buffer.concat(burst));
      }
      // 40 publishes of 1 KB count 80 packets of the turn's budget of 64: without the clock, the
      // first 32 go out in one turn (9,600 deliveries) before the PINGREQ is read.
      const before = await within(answered, 10_000, 'the PINGRESP');
      assert.ok(before < 32, `PINGRESP after ${before} messages of the burst`);
    });

  it('maxRetainedMessages / maxRetainedBytes: a new topic past them is refused with 0x97 (v5 QoS 1), or delivered and not kept', async () => {
    const c = await v5(port(3), 'retain-bomb');
    for (let n = 0; n < 3; n++) await c.publish(`keep/${n}`, 'x', { qos: 1, retain: true });
    await assert.rejects(c.publish('keep/3', 'x', { qos: 1, retain: true }), (error: ClientError) => {
      assert.equal(error.reasonCode, ReasonCode.QuotaExceeded);
      return true;
    });
    await c.publish('keep/1', 'replaced', { qos: 1, retain: true }); // replacing is not adding
    await c.publish('keep/2', '', { qos: 1, retain: true }); // deleting is always allowed
    await c.publish('keep/big', Buffer.alloc(300), { qos: 1, retain: true }).then(
      () => assert.fail('over maxRetainedBytes'),
      (error: ClientError) => assert.equal(error.reasonCode, ReasonCode.QuotaExceeded),
    );
    // 3.1.1 QoS 0: delivered to the subscriber there is, not kept for the next one.
    const watcher = await v5(port(3), 'retain-watcher');
    await watcher.subscribe('keep/#', { qos: 0 });
    const inbox = watcher.messages();
    const first = await within(inbox.next(), 5000, 'retained');
    assert.equal(first.value?.topic, 'keep/0');
    const second = await within(inbox.next(), 5000, 'retained');
    assert.equal(second.value?.payload.toString(), 'replaced');
    await c.publish('keep/2', 'x', { qos: 1, retain: true }); // room again after the delete
    const old = mqtt.connect(`mqtt://127.0.0.1:${port(3)}`, { clientId: 'retain-311', protocolVersion: 4 });
    try {
      await within(new Promise((r) => old.once('connect', r)), 5000, '3.1.1 client');
      await old.publishAsync('keep/4', 'live only', { qos: 0, retain: true });
      await old.publishAsync('keep/sentinel', '', { qos: 1 });
    } finally {
      old.end(true);
    }
    const live = await within(inbox.next(), 5000, 'keep/2 live');
    assert.equal(live.value?.topic, 'keep/2');
    const notKept = await within(inbox.next(), 5000, 'keep/4 live');
    assert.equal(notKept.value?.topic, 'keep/4');
    assert.equal(notKept.value?.payload.toString(), 'live only');
    const later = await v5(port(3), 'retain-later');
    await later.subscribe('keep/#', { qos: 0 });
    const kept: string[] = [];
    const laterInbox = later.messages();
    for (let n = 0; n < 3; n++) kept.push((await within(laterInbox.next(), 5000, 'kept')).value!.topic);
    await c.publish('keep/sentinel', 'end', { qos: 1 });
    assert.equal((await within(laterInbox.next(), 5000, 'sentinel')).value?.topic, 'keep/sentinel');
    assert.deepEqual(kept.sort(), ['keep/0', 'keep/1', 'keep/2']);
    assert.equal(broker.core.stats.quotaRefusals.retained, 3);
  });
});
