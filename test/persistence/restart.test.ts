// The core on the real embedded store (LMDB in a temporary directory) with a manual clock: what a
// client was acknowledged is there after a restart, and every deadline (will delay, session
// expiry, message expiry) is kept as an absolute time across it. A "crash" here abandons the core
// with its timers; only what the store committed comes back. (The process-level SIGKILL test is
// kill-9.test.ts.)

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CoreOptions } from '../../src/broker/core/broker-core.js';
import { listenerPolicy } from '../../src/broker/core/listener-policy.js';
import { type RecoveryReport, recover } from '../../src/broker/core/recovery.js';
import { LmdbStore } from '../../src/broker/persistence/lmdb-store.js';
import { ReasonCode } from '../../src/protocol/index.js';
import { CoreHarness, connectPacket, TestClient } from '../support/core-harness.js';
import { ManualClock } from '../support/manual-clock.js';

const root = mkdtempSync(join(tmpdir(), 'warden-restart-'));
const DAY = 86_400_000;
const T0 = 1_000_000;

interface Booted {
  readonly h: CoreHarness;
  readonly store: LmdbStore;
  readonly report: RecoveryReport;
}

/** A core on the store in `name`, its clock reading `now`, rebuilt from what the store holds. */
async function boot(
  name: string,
  now = T0,
  options: Partial<Omit<CoreOptions, 'clock'>> = {},
): Promise<Booted> {
  const store = LmdbStore.open({ dir: join(root, name), file: 'warden.mdb' });
  const h = new CoreHarness({ ...options, store, clock: new ManualClock(now) });
  const report = recover(h.core, await store.load());
  await h.settled();
  return { h, store, report };
}

/** The process is gone: what was committed is all there is (the core and its timers are abandoned). */
async function crash(b: Booted): Promise<void> {
  await b.h.settled();
  await b.store.close();
}

const persistent = (expiry = 3600, extra = {}) => ({
  clean: true,
  properties: { sessionExpiryInterval: expiry },
  ...extra,
});
const resume = (expiry = 3600) => ({ clean: false, properties: { sessionExpiryInterval: expiry } });
const will = (topic: string, willDelayInterval: number) => ({
  topic,
  payload: Buffer.from(`${topic} gone`),
  qos: 1 as const,
  retain: false,
  properties: willDelayInterval === 0 ? undefined : { willDelayInterval },
});

describe('a restart on the embedded store', () => {
  it('keeps a persistent session, its subscription and its messages; in-flight ones come again with DUP', async () => {
    const first = await boot('session');
    const { client: sub } = await first.h.connectDurably('sub', persistent());
    sub.subscribe('a/#', 2);
    await first.h.settled();
    assert.equal(sub.next()?.type, 'suback');
    const { client: pub } = await first.h.connectDurably('pub');
    pub.publish('a/1', 'one', 1, { packetId: 1 });
    pub.publish('a/2', 'two', 2, { packetId: 2 });
    await first.h.settled();
    const inFlight = sub.publishes();
    assert.deepEqual(
      inFlight.map((p) => [p.topic, p.qos, p.dup]),
      [
        ['a/1', 1, false],
        ['a/2', 2, false],
      ],
    );
    sub.drop();
    pub.publish('a/3', 'three', 1, { packetId: 3 });
    await first.h.settled();
    assert.deepEqual(
      pub.received().map((p) => p.type),
      ['puback', 'pubrec', 'puback'],
    );
    await crash(first);

    const second = await boot('session', T0 + 60_000);
    assert.equal(second.report.sessions, 1);
    assert.equal(second.report.subscriptions, 1);
    assert.equal(second.report.inFlight, 2);
    assert.equal(second.report.queued, 1);
    const { client: back, connack } = await second.h.connectDurably('sub', resume());
    assert.equal(connack.type === 'connack' && connack.sessionPresent, true);
    const again = back.publishes();
    assert.deepEqual(
      again.map((p) => [p.topic, p.payload.toString(), p.qos, p.dup]),
      [
        ['a/1', 'one', 1, true],
        ['a/2', 'two', 2, true],
        ['a/3', 'three', 1, false],
      ],
    );
    assert.equal(
      again[0]!.packetId,
      inFlight[0]!.packetId,
      'resent under the packet id it had [MQTT-4.4.0-1]',
    );
    assert.equal(again[1]!.packetId, inFlight[1]!.packetId);
    // The subscription came back too: a new message is routed to it.
    const { client: pub2 } = await second.h.connectDurably('pub2');
    pub2.publish('a/4', 'four', 1);
    await second.h.settled();
    assert.deepEqual(
      back.publishes().map((p) => p.topic),
      ['a/4'],
    );
    await crash(second);
  });

  it('sends PUBACK only once the message is committed to the persistent session it went to', async () => {
    const b = await boot('ack-after-commit');
    const { client: sub } = await b.h.connectDurably('sub', persistent());
    sub.subscribe('t', 1);
    await b.h.settled();
    sub.drop();
    const { client: pub } = await b.h.connectDurably('pub');
    pub.publish('t', 'kept', 1, { packetId: 9 });
    assert.deepEqual(pub.received(), [], 'no PUBACK before the commit');
    await b.h.settled();
    assert.deepEqual(pub.received(), [{ type: 'puback', packetId: 9, reasonCode: undefined }]);
    // A message no persistent session keeps writes nothing: its PUBACK is not held back.
    pub.publish('nobody/keeps/this', 'x', 1, { packetId: 10 });
    assert.deepEqual(pub.received(), [
      { type: 'puback', packetId: 10, reasonCode: ReasonCode.NoMatchingSubscribers },
    ]);
    await crash(b);
  });

  it('delivers a QoS 2 message once when its publisher resends it after the restart', async () => {
    const first = await boot('qos2');
    const { client: sub } = await first.h.connectDurably('sub', persistent());
    sub.subscribe('q', 2);
    await first.h.settled();
    sub.drop();
    const { client: pub } = await first.h.connectDurably('pub', persistent());
    pub.publish('q', 'exactly once', 2, { packetId: 7 });
    await first.h.settled();
    assert.equal(pub.next()?.type, 'pubrec');
    await crash(first);

    const second = await boot('qos2', T0 + 1000);
    const { client: again } = await second.h.connectDurably('pub', resume());
    again.publish('q', 'exactly once', 2, { packetId: 7, dup: true });
    await second.h.settled();
    assert.equal(again.next()?.type, 'pubrec');
    again.send({ type: 'pubrel', packetId: 7 });
    await second.h.settled();
    assert.deepEqual(again.next(), { type: 'pubcomp', packetId: 7, reasonCode: undefined });
    // The id is free again: a new message under it is a new message.
    again.publish('q', 'second', 2, { packetId: 7 });
    await second.h.settled();
    await crash(second);

    const third = await boot('qos2', T0 + 2000);
    const { client: back } = await third.h.connectDurably('sub', resume());
    assert.deepEqual(
      back.publishes().map((p) => p.payload.toString()),
      ['exactly once', 'second'],
    );
    await crash(third);
  });

  it('keeps will delays and session expiry as absolute deadlines across the restart', async () => {
    const first = await boot('deadlines');
    const { client: watch } = await first.h.connectDurably('watch', persistent());
    watch.subscribe('will/#', 1);
    await first.h.settled();
    watch.drop();
    const device = async (id: string, expiry: number, w?: ReturnType<typeof will>) =>
      (await first.h.connectDurably(id, persistent(expiry, w ? { will: w } : {}))).client;
    (await device('d1', 3600, will('will/d1', 60))).drop(); // will due at +60 s: passes while down
    (await device('d2', 100)).drop(); // session ends at +100 s: passes while down
    (await device('d3', 3600, will('will/d3', 600))).drop(); // will due at +600 s
    await device('d4', 3600, will('will/d4', 0)); // connected when the broker dies
    await first.h.settled();
    await crash(first);

    const second = await boot('deadlines', T0 + 120_000);
    assert.equal(second.report.expiredSessions, 1);
    assert.equal(second.report.willsPublished, 2);
    assert.ok(!second.h.core.sessions.has('d2'), 'd2 expired while the broker was down');
    assert.ok(second.h.core.sessions.has('d3'));
    second.h.clock.advance(480_000 - 1);
    assert.equal(second.h.core.sessions.get('watch')!.queue.length, 2, 'd3 waits out its delay');
    second.h.clock.advance(1);
    await second.h.settled();
    const { client: back } = await second.h.connectDurably('watch', resume());
    assert.deepEqual(
      back.publishes().map((p) => p.topic),
      ['will/d1', 'will/d4', 'will/d3'],
    );
    await crash(second);
  });

  it('keeps a 30-day session through its client absence and a restart, and ends it at 30 days', async () => {
    const expiry = 30 * 86_400; // 2,592,000 s: above 2^31 ms, where a plain setTimeout fires at once
    const first = await boot('thirty-days');
    const { client } = await first.h.connectDurably('device', persistent(expiry));
    client.subscribe('cmd', 1);
    await first.h.settled();
    client.drop();
    first.h.clock.advance(29 * DAY);
    assert.ok(first.h.core.sessions.has('device'));
    await crash(first);

    const second = await boot('thirty-days', T0 + 29 * DAY);
    assert.equal(second.report.sessions, 1);
    second.h.clock.advance(DAY - 1);
    assert.ok(second.h.core.sessions.has('device'), 'one millisecond before its 30 days are up');
    second.h.clock.advance(1);
    assert.ok(!second.h.core.sessions.has('device'), 'ended at 30 days');
    await crash(second);
    const third = await boot('thirty-days', T0 + 31 * DAY);
    assert.equal(third.report.sessions, 0, 'and its end was committed');
    await crash(third);
  });

  it('keeps retained messages and their clearing; drops messages that expired while it was down', async () => {
    const first = await boot('retained');
    const { client: sub } = await first.h.connectDurably('sub', persistent());
    sub.subscribe('q/#', 1);
    await first.h.settled();
    sub.drop();
    const { client: pub } = await first.h.connectDurably('pub');
    const retain = { retain: true };
    const expiring = { retain: true, properties: { messageExpiryInterval: 10 } };
    pub.publish('r/kept', 'kept', 1, { ...retain, packetId: 1 });
    pub.publish('r/expiring', 'short', 1, { ...expiring, packetId: 2 });
    pub.publish('r/cleared', 'soon gone', 1, { ...retain, packetId: 3 });
    pub.publish('r/cleared', '', 1, { ...retain, packetId: 4 });
    pub.publish('q/expiring', 'short', 1, { properties: { messageExpiryInterval: 10 }, packetId: 5 });
    pub.publish('q/kept', 'kept', 1, { packetId: 6 });
    await first.h.settled();
    await crash(first);

    const second = await boot('retained', T0 + 20_000);
    assert.equal(second.report.retained, 1);
    assert.equal(second.report.expiredMessages, 2);
    const { client: reader } = await second.h.connectDurably('reader');
    reader.subscribe('r/#', 1);
    await second.h.settled();
    assert.deepEqual(
      reader.publishes().map((p) => [p.topic, p.payload.toString(), p.retain]),
      [['r/kept', 'kept', true]],
    );
    const { client: back } = await second.h.connectDurably('sub', resume());
    assert.deepEqual(
      back.publishes().map((p) => p.topic),
      ['q/kept'],
    );
    await crash(second);
  });

  it('withholds the acknowledgement of a write that fails, closes that client with 0x80 and serves the others', async () => {
    const b = await boot('write-fails');
    const { client: sub } = await b.h.connectDurably('sub', persistent());
    sub.subscribe('t', 1);
    await b.h.settled();
    sub.drop();
    const { client: plain } = await b.h.connectDurably('plain');
    plain.subscribe('live', 0);
    const { client: pub } = await b.h.connectDurably('pub');
    pub.received();
    plain.received();
    await b.store.close(); // the disk is gone: every commit from here on fails
    pub.publish('t', 'cannot be kept', 1, { packetId: 5 });
    await b.h.settled();
    assert.deepEqual(
      pub.received().map((p) => (p.type === 'disconnect' ? [p.type, p.reasonCode] : [p.type])),
      [['disconnect', ReasonCode.UnspecifiedError]],
      'no PUBACK: the client resends when it reconnects',
    );
    assert.equal(pub.channel.closed, true);
    assert.equal(b.h.core.stats.storeWriteFailures, 1);
    const { client: other } = await b.h.connectDurably('other');
    other.publish('live', 'still served', 0);
    assert.deepEqual(
      plain.publishes().map((p) => p.payload.toString()),
      ['still served'],
    );
  });

  it('queued QoS 0 messages (queueQos0Messages) and the publisher of a retained message are kept', async () => {
    const options = { queueQos0Messages: true };
    const writers = new Set(['alice']);
    const listener = listenerPolicy('memory', {
      authorizer: {
        authorize: () => 'allow',
        publishCheck: (user) => user !== undefined && writers.has(user),
      },
    });
    const first = await boot('qos0-and-source', T0, options);
    const { client: sub } = await first.h.connectDurably('sub', persistent());
    sub.subscribe('z/#', 0);
    await first.h.settled();
    sub.drop();
    const alice = new TestClient(first.h.core, listener);
    alice.send(connectPacket('alice-1', { username: 'alice' }));
    alice.publish('z/q', 'queued at QoS 0', 0);
    alice.publish('z/r', 'retained by alice', 0, { retain: true });
    await crash(first);

    const second = await boot('qos0-and-source', T0 + 60_000, options);
    assert.equal(second.report.queued, 2);
    const { client: back } = await second.h.connectDurably('sub', resume());
    assert.deepEqual(
      back.publishes().map((p) => [p.topic, p.qos]),
      [
        ['z/q', 0],
        ['z/r', 0],
      ],
    );
    await second.h.settled();
    // Sent at most once: not there after another restart.
    writers.delete('alice');
    await crash(second);
    const third = await boot('qos0-and-source', T0 + 120_000, options);
    assert.equal(third.report.queued, 0);
    // The retained message still names alice, who may no longer publish there.
    const reader = new TestClient(third.h.core, listener);
    reader.send(connectPacket('reader'));
    reader.subscribe('z/#', 0);
    await third.h.settled();
    assert.deepEqual(reader.publishes(), []);
    writers.add('alice');
    reader.subscribe('z/#', 0, { packetId: 2 });
    await third.h.settled();
    assert.deepEqual(
      reader.publishes().map((p) => p.topic),
      ['z/r'],
    );
    await crash(third);
  });
});
