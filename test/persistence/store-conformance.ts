// The store port's contract, one suite run against every store (Aedes' abstract persistence
// suite is the model): each record kind written, overwritten, deleted and read back after a
// reopen, in one transaction or several, with the byte-exact payloads and properties the core
// stored, and keys far longer than an LMDB key may be.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageRecord, QueuedRecord, SessionRecord, Store } from '../../src/broker/core/store-ports.js';

export interface StoreUnderTest {
  /** A new, empty store. */
  fresh(): Promise<Store>;
  /** The same store after a restart: for a durable store, closed and opened again. */
  reopen(store: Store): Promise<Store>;
}

const message = (topic: string, extra: Partial<MessageRecord> = {}): MessageRecord => ({
  topic,
  payload: Buffer.from(`payload of ${topic}`),
  qos: 1,
  retain: false,
  ...extra,
});

const session = (clientId: string, extra: Partial<SessionRecord> = {}): SessionRecord => ({
  clientId,
  expiryInterval: 3600,
  subscriptions: [],
  ...extra,
});

const queued = (clientId: string, seq: number, extra: Partial<QueuedRecord> = {}): QueuedRecord => ({
  clientId,
  seq,
  messageId: 1,
  qos: 1,
  retain: false,
  ...extra,
});

export function storeConformance(name: string, subject: StoreUnderTest): void {
  const commit = async (store: Store, ...writes: Parameters<Store['commit']>[0]) => {
    await store.commit(writes);
  };

  describe(`store conformance: ${name}`, () => {
    it('starts empty', async () => {
      const state = await (await subject.fresh()).load();
      assert.deepEqual(
        [state.sessions, [...state.messages], state.queued, state.inbound, state.retained],
        [[], [], [], [], []],
      );
    });

    it('keeps a session with its subscriptions, will and deadlines; replaces it; deletes it', async () => {
      let store = await subject.fresh();
      const full = session('device-1', {
        username: 'alice',
        expiresAt: 1_700_000_000_000,
        willAt: 1_700_000_060_000,
        subscriptions: [
          { filter: 'a/#', qos: 2, noLocal: true, retainAsPublished: true, subscriptionIdentifier: 7 },
          { filter: '$share/g/b/+', qos: 0, noLocal: false, retainAsPublished: false },
        ],
        will: message('will/device-1', { properties: { willDelayInterval: 60, contentType: 'text/plain' } }),
      });
      await commit(store, { kind: 'session', clientId: 'device-1', record: full });
      await commit(store, { kind: 'session', clientId: 'device-2', record: session('device-2') });
      store = await subject.reopen(store);
      const byId = new Map((await store.load()).sessions.map((s) => [s.clientId, s]));
      assert.deepEqual(byId.get('device-1'), full);
      assert.deepEqual(byId.get('device-2'), session('device-2'));
      await commit(store, {
        kind: 'session',
        clientId: 'device-2',
        record: session('device-2', { expiryInterval: 5 }),
      });
      await commit(store, { kind: 'session', clientId: 'device-1', record: undefined });
      store = await subject.reopen(store);
      assert.deepEqual((await store.load()).sessions, [session('device-2', { expiryInterval: 5 })]);
    });

    it('keeps message bytes and v5 properties exactly', async () => {
      let store = await subject.fresh();
      const binary = Buffer.from([0, 255, 1, 254, 0x80, 0]);
      const record = message('m/1', {
        payload: binary,
        qos: 2,
        retain: true,
        expiresAt: 1_700_000_000_123,
        properties: {
          payloadFormatIndicator: 0,
          correlationData: Buffer.from([9, 8, 7]),
          responseTopic: 'reply/to',
          userProperties: [
            ['k', 'v'],
            ['k', 'second value of the same key'],
          ],
        },
      });
      await commit(store, { kind: 'message', id: 42, record });
      await commit(store, {
        kind: 'message',
        id: 43,
        record: message('empty', { payload: Buffer.alloc(0) }),
      });
      store = await subject.reopen(store);
      const { messages } = await store.load();
      assert.deepEqual(messages.get(42), record);
      assert.ok(Buffer.isBuffer(messages.get(42)!.payload));
      assert.equal(messages.get(43)!.payload.length, 0);
      await commit(store, { kind: 'message', id: 42, record: undefined });
      store = await subject.reopen(store);
      assert.deepEqual([...(await store.load()).messages.keys()], [43]);
    });

    it('returns queued and in-flight entries in seq order, updated and deleted by seq', async () => {
      let store = await subject.fresh();
      await commit(
        store,
        { kind: 'queued', clientId: 'c', seq: 10, record: queued('c', 10) },
        {
          kind: 'queued',
          clientId: 'c',
          seq: 2,
          record: queued('c', 2, { qos: 2, subscriptionIdentifiers: [1, 5] }),
        },
        { kind: 'queued', clientId: 'd', seq: 300, record: queued('d', 300) },
        { kind: 'queued', clientId: 'c', seq: 11, record: queued('c', 11) },
      );
      await commit(
        store,
        {
          kind: 'queued',
          clientId: 'c',
          seq: 2,
          record: queued('c', 2, { qos: 2, packetId: 17, awaiting: 'pubcomp' }),
        },
        { kind: 'queued', clientId: 'c', seq: 11, record: undefined },
      );
      store = await subject.reopen(store);
      const { queued: entries } = await store.load();
      assert.deepEqual(
        entries.map((q) => [q.clientId, q.seq, q.packetId, q.awaiting]),
        [
          ['c', 2, 17, 'pubcomp'],
          ['c', 10, undefined, undefined],
          ['d', 300, undefined, undefined],
        ],
      );
    });

    it('keeps inbound QoS 2 ids per client until released', async () => {
      let store = await subject.fresh();
      await commit(
        store,
        { kind: 'inbound', clientId: 'a', packetId: 1, present: true },
        { kind: 'inbound', clientId: 'a', packetId: 65535, present: true },
        { kind: 'inbound', clientId: 'b', packetId: 1, present: true },
      );
      await commit(store, { kind: 'inbound', clientId: 'a', packetId: 1, present: false });
      store = await subject.reopen(store);
      const ids = (await store.load()).inbound.map((i) => `${i.clientId}:${i.packetId}`).sort();
      assert.deepEqual(ids, ['a:65535', 'b:1']);
    });

    it('applies a transaction in order: a write and its undoing in one commit leave nothing', async () => {
      let store = await subject.fresh();
      await commit(
        store,
        { kind: 'retained', topic: 'r', record: message('r') },
        { kind: 'retained', topic: 'r', record: undefined },
        { kind: 'retained', topic: 's', record: message('s', { payload: Buffer.from('first') }) },
        { kind: 'retained', topic: 's', record: message('s', { payload: Buffer.from('last') }) },
      );
      store = await subject.reopen(store);
      const { retained } = await store.load();
      assert.deepEqual(
        retained.map((r) => [r.topic, r.payload.toString()]),
        [['s', 'last']],
      );
    });

    it('keeps client ids and topics longer than a database key, apart from each other', async () => {
      let store = await subject.fresh();
      const long = (c: string) => `${'x'.repeat(65_000)}${c}`;
      await commit(
        store,
        { kind: 'retained', topic: long('1'), record: message(long('1')) },
        { kind: 'retained', topic: long('2'), record: message(long('2')) },
        { kind: 'session', clientId: long('a'), record: session(long('a')) },
        { kind: 'session', clientId: long('b'), record: session(long('b')) },
        { kind: 'inbound', clientId: long('a'), packetId: 3, present: true },
      );
      store = await subject.reopen(store);
      const state = await store.load();
      assert.deepEqual(state.retained.map((r) => r.topic).sort(), [long('1'), long('2')]);
      assert.deepEqual(state.sessions.map((s) => s.clientId).sort(), [long('a'), long('b')]);
      assert.deepEqual(state.inbound, [{ clientId: long('a'), packetId: 3 }]);
      await commit(store, { kind: 'retained', topic: long('1'), record: undefined });
      store = await subject.reopen(store);
      assert.deepEqual(
        (await store.load()).retained.map((r) => r.topic),
        [long('2')],
      );
    });
  });
}
