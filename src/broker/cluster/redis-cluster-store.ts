// The store of a cluster node: sessions, their kept messages and the retained messages live in
// Redis, shared by every node, so a session can move to whichever node its client reaches. One
// turn's writes go to Redis as one script (cluster-scripts.ts), with the messages this node
// publishes appended to the cluster's log in the same transaction: a PUBACK waits for both.
// A node writes to a session only under the fencing token it holds for it.

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Message } from '../core/message.js';
import type {
  MessageRecord,
  QueuedRecord,
  SessionRecord,
  Store,
  StoredState,
  StoreWrite,
} from '../core/store-ports.js';
import {
  inboundKey,
  LOG_MAX_ENTRIES,
  messageKey,
  ownedKey,
  ownerKey,
  queuedKey,
  sessionKey,
  tokenNode,
} from './cluster-keys.js';
import { COMMIT_SCRIPT, SNAPSHOT_SCRIPT } from './cluster-scripts.js';
import { decodeFrame, encodeFrame, encodeFrames, reviveBuffers } from './message-frame.js';

/** A kept message as Redis holds it: the record, with its message named by a cluster-wide key. */
interface StoredQueued {
  s: number;
  k: string;
  q: 0 | 1 | 2;
  r: boolean;
  i?: readonly number[];
  p?: number;
  a?: QueuedRecord['awaiting'];
}

type Op = [string, string | Buffer, string | Buffer, string | Buffer, string | Buffer];

type CommitCommand = (...args: Array<string | Buffer>) => Promise<string[]>;
type SnapshotCommand = (node: string) => Promise<[Buffer, Buffer, Buffer[], Array<Buffer | Buffer[]>]>;

export class RedisClusterStore implements Store {
  readonly durable = true;
  readonly location: string;
  /** Client id -> the fencing token this node holds for it. */
  readonly tokens = new Map<string, string>();
  /** Told of a session another node owns now: this node's writes to it were refused. */
  onFenced: (clientId: string) => void = () => undefined;
  /** Where this node's reading of the log starts: its cursor, or the log's end when it has none. */
  startId = '0-0';
  /** Shared group -> its members' client ids, sorted, as of startId (the bus keeps it from there). */
  readonly shares = new Map<string, string[]>();
  readonly #redis: Redis;
  readonly #node: string;
  /** Message ids this node gives its own messages are unique per start: keys carry the start. */
  readonly #prefix: string;
  /** Messages read from Redis get negative ids here, mapped to their keys. */
  readonly #imported = new Map<number, string>();
  #nextImported = -1;

  constructor(redis: Redis, node: string, location: string) {
    this.#redis = redis;
    this.#node = node;
    this.location = location;
    this.#prefix = `${node}:${randomUUID().slice(0, 8)}:`;
    redis.defineCommand('wardenCommit', { numberOfKeys: 0, lua: COMMIT_SCRIPT });
    redis.defineCommand('wardenSnapshot', { numberOfKeys: 0, lua: SNAPSHOT_SCRIPT });
  }

  /** The sessions this node owned when it stopped, the retained messages, where to read the log from. */
  async load(): Promise<StoredState> {
    const owned = await this.#redis.smembers(ownedKey(this.#node));
    const snapshot = (this.#redis as unknown as { wardenSnapshotBuffer: SnapshotCommand })
      .wardenSnapshotBuffer;
    const [sessions, [last, cursor, retained, shares]] = await Promise.all([
      this.loadSessions(owned),
      snapshot.call(this.#redis, this.#node),
    ]);
    this.startId = cursor.length > 0 ? cursor.toString() : last.toString();
    for (let i = 0; i + 1 < shares.length; i += 2)
      this.shares.set(
        (shares[i] as Buffer).toString(),
        (shares[i + 1] as Buffer[]).map((m) => m.toString()).sort(),
      );
    const messages: MessageRecord[] = [];
    for (let i = 1; i < retained.length; i += 2) messages.push(decodeFrame(retained[i]!).message);
    return { ...sessions, retained: messages };
  }

  /** The stored state of the given sessions, those this node holds the token of. */
  async loadSessions(clientIds: readonly string[]): Promise<StoredState> {
    const read = this.#redis.pipeline();
    for (const cid of clientIds)
      read.get(ownerKey(cid)).get(sessionKey(cid)).hgetall(queuedKey(cid)).smembers(inboundKey(cid));
    const answers = (await read.exec()) ?? [];
    const sessions: SessionRecord[] = [];
    const kept: Array<{ clientId: string; stored: StoredQueued }> = [];
    const inbound: Array<{ clientId: string; packetId: number }> = [];
    clientIds.forEach((clientId, n) => {
      const [owner, session, queued, packetIds] = answers.slice(n * 4, n * 4 + 4).map(([e, v]) => {
        if (e) throw e;
        return v;
      }) as [string | null, string | null, Record<string, string>, string[]];
      if (owner === null || tokenNode(owner) !== this.#node) return;
      this.tokens.set(clientId, owner);
      if (session === null) return;
      sessions.push(JSON.parse(session, reviveBuffers) as SessionRecord);
      for (const json of Object.values(queued))
        kept.push({ clientId, stored: JSON.parse(json) as StoredQueued });
      for (const id of packetIds) inbound.push({ clientId, packetId: Number(id) });
    });
    const keys = [...new Set(kept.map((k) => k.stored.k))];
    const frames = await Promise.all(keys.map((k) => this.#redis.hgetBuffer(messageKey(k), 'f')));
    const messages = new Map<number, MessageRecord>();
    const idOf = new Map<string, number>();
    keys.forEach((key, n) => {
      const frame = frames[n];
      if (frame === null || frame === undefined) return;
      const id = this.#nextImported--;
      this.#imported.set(id, key);
      idOf.set(key, id);
      messages.set(id, decodeFrame(frame).message);
    });
    const queued = kept
      .filter(({ stored }) => idOf.has(stored.k))
      .map(({ clientId, stored }) => queuedRecord(clientId, stored, idOf.get(stored.k)!))
      .sort((x, y) => x.seq - y.seq);
    return { sessions, messages, queued, inbound, retained: [] };
  }

  commit(writes: readonly StoreWrite[]): Promise<void> {
    const { args, used } = this.#ops(writes);
    const run = (this.#redis as unknown as { wardenCommit: CommitCommand }).wardenCommit;
    return run.call(this.#redis, this.#node, String(LOG_MAX_ENTRIES), ...args).then((fenced) => {
      for (const clientId of fenced) {
        const token = used.get(clientId);
        if (token === undefined || this.tokens.get(clientId) !== token) continue;
        this.tokens.delete(clientId);
        this.onFenced(clientId);
      }
    });
  }

  async close(): Promise<void> {}

  /** The writes as the script's ops; `used`: the token each session's writes were made under. */
  #ops(writes: readonly StoreWrite[]): { args: Array<string | Buffer>; used: Map<string, string> } {
    const ops: Op[] = [];
    const used = new Map<string, string>();
    // Messages for the log go as one entry, where the first of them stood among the writes.
    const forwards: Array<{ message: Message; origin?: string }> = [];
    const token = (clientId: string) => {
      const t = this.tokens.get(clientId) ?? '';
      used.set(clientId, t);
      return t;
    };
    for (const w of writes) {
      switch (w.kind) {
        case 'forward':
          if (forwards.length === 0) ops.push(['x', '', '', '', '']);
          forwards.push({ message: w.message, origin: w.origin });
          break;
        case 'retained':
          ops.push(['r', w.topic, w.record === undefined ? '' : encodeFrame(w.record), '', '']);
          break;
        case 'message':
          if (w.record !== undefined) ops.push(['m', this.#keyOf(w.id), encodeFrame(w.record), '', '']);
          else this.#imported.delete(w.id); // Redis counts the references itself
          break;
        case 'session':
          ops.push([
            's',
            w.clientId,
            token(w.clientId),
            w.record === undefined ? '' : JSON.stringify(w.record),
            '',
          ]);
          break;
        case 'queued': {
          const json = w.record === undefined ? '' : JSON.stringify(this.#stored(w.record));
          ops.push(['q', w.clientId, token(w.clientId), String(w.seq), json]);
          break;
        }
        case 'inbound':
          ops.push(['i', w.clientId, token(w.clientId), String(w.packetId), w.present ? '1' : '0']);
          break;
        case 'handover':
          ops.push(['h', w.clientId, token(w.clientId), w.to, '']);
          this.tokens.delete(w.clientId);
          break;
        case 'disown':
          ops.push(['d', w.clientId, token(w.clientId), '', '']);
          this.tokens.delete(w.clientId);
          break;
        case 'position':
          ops.push(['c', w.id, '', '', '']);
          break;
        case 'share':
          ops.push(['g', w.group, w.clientId, w.member ? '1' : '0', '']);
          break;
      }
    }
    const entry = ops.find((op) => op[0] === 'x');
    if (entry !== undefined) entry[1] = encodeFrames(forwards);
    return { args: ops.flat(), used };
  }

  #keyOf(id: number): string {
    return id > 0 ? `${this.#prefix}${id}` : (this.#imported.get(id) ?? `${this.#prefix}missing${id}`);
  }

  #stored(r: QueuedRecord): StoredQueued {
    return {
      s: r.seq,
      k: this.#keyOf(r.messageId),
      q: r.qos,
      r: r.retain,
      ...(r.subscriptionIdentifiers !== undefined && { i: r.subscriptionIdentifiers }),
      ...(r.packetId !== undefined && { p: r.packetId }),
      ...(r.awaiting !== undefined && { a: r.awaiting }),
    };
  }
}

function queuedRecord(clientId: string, s: StoredQueued, messageId: number): QueuedRecord {
  return {
    clientId,
    seq: s.s,
    messageId,
    qos: s.q,
    retain: s.r,
    ...(s.i !== undefined && { subscriptionIdentifiers: s.i }),
    ...(s.p !== undefined && { packetId: s.p }),
    ...(s.a !== undefined && { awaiting: s.a }),
  };
}
