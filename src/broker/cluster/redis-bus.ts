// The cluster bus on Redis (ioredis: maintained, Streams, scripts and TLS, reconnects with
// backoff). Every message published on any node is appended to one Redis Stream, the log, in
// the same transaction as the node's other writes (so its PUBACK waits until Redis has it), and
// every node, its publisher's included, routes the log in its order. Sessions live in Redis
// (redis-cluster-store.ts); a node that gets a CONNECT claims the client id: a live owner sees
// the claim in the log, takes its connection over (0x8E) and hands the session over; a dead
// owner's sessions are taken at once. Either way the new owner routes to the session what the
// log held since its last owner stopped routing to it, so nothing is lost or routed twice.
// A node's heartbeat key says it is alive.

import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import type { ClusterMember, ClusterPort } from '../core/cluster-ports.js';
import type { Logger } from '../core/ports.js';
import type { StoreWrite } from '../core/store-ports.js';
import {
  CURSORS,
  compareIds,
  HEARTBEAT_MS,
  HEARTBEAT_TTL_MS,
  LOG,
  LOG_MAX_ENTRIES,
  NODES,
  nodeKey,
  tokenNode,
} from './cluster-keys.js';
import { ADOPT_SCRIPT, CLAIM_SCRIPT } from './cluster-scripts.js';
import { entryMessages } from './message-frame.js';
import { RedisClusterStore } from './redis-cluster-store.js';

/** How long a CONNECT waits for another node to hand its session over. */
const CLAIM_TIMEOUT_MS = 10_000;

type Entry = [id: string, fields: Buffer[]];
type Handover = 'installed' | 'superseded' | 'timeout';

/** A claim waiting for the owner to hand the session over. */
interface PendingClaim {
  /** The first claim's place in the log: the old owner stopped routing to the session there. */
  readonly from: string;
  /** A later claim by another node, to hand the session on to once it is here. */
  next?: string;
  settle?: (outcome: Handover) => void;
}

interface Control {
  readonly t: 'claim' | 'released' | 'share';
  /** Client id. */
  readonly c: string;
  /** The token of the node the session goes to. */
  readonly o: string;
  /** claim: the token of the owner it is claimed from. */
  readonly f?: string;
  /** share: the group, and '1' when the client joined it, '0' when it left. */
  readonly g?: string;
  readonly m?: '1' | '0';
}

export class RedisBus implements ClusterPort {
  readonly nodeId: string;
  readonly store: RedisClusterStore;
  readonly #writer: Redis;
  readonly #reader: Redis;
  readonly #logger: Logger;
  #member: ClusterMember | undefined;
  #reading = false;
  /** Whether the writer connection is up: acknowledgements can be given (readiness, metrics). */
  #up = false;
  /** The last log entry routed here. */
  #routed = '0-0';
  readonly #pending = new Map<string, PendingClaim>();
  /** Sessions being installed: the log position is not advanced past what they still miss. */
  #installing = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Set while this node takes over the sessions of nodes that stopped. */
  #adopting = false;
  /** When the writer connected: every node needs a heartbeat's time to be seen alive again. */
  #upSince = 0;
  #nodes: ReadonlyArray<{ readonly node: string; readonly alive: boolean }> = [];
  /** What the last Redis error said: why a connection at start failed. */
  #lastError: string | undefined;

  private constructor(url: string, nodeId: string, logger: Logger, access: RedisOptions) {
    this.nodeId = nodeId;
    this.#logger = logger;
    const options = { ...access, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.#writer = new Redis(url, options);
    this.#reader = new Redis(url, { ...options, maxRetriesPerRequest: null });
    this.#writer.defineCommand('wardenClaim', { numberOfKeys: 0, lua: CLAIM_SCRIPT });
    this.#writer.defineCommand('wardenAdopt', { numberOfKeys: 0, lua: ADOPT_SCRIPT });
    this.store = new RedisClusterStore(this.#writer, nodeId, redactUrl(url));
    this.store.onFenced = (clientId) => {
      logger.warn({ clientId }, 'cluster: another node owns this session now; dropped here');
      this.#member?.dropSession(clientId);
    };
    this.#writer.on('ready', () => {
      if (!this.#up) logger.info({ redis: redactUrl(url) }, 'cluster: Redis reachable');
      this.#up = true;
      this.#upSince = Date.now();
    });
    this.#writer.on('close', () => {
      if (this.#up)
        logger.error(
          { redis: redactUrl(url) },
          'cluster: Redis unreachable; acknowledgements are withheld until it is back',
        );
      this.#up = false;
    });
    for (const [name, connection] of [
      ['writer', this.#writer],
      ['reader', this.#reader],
    ] as const) {
      connection.on('error', (error: Error) => {
        this.#lastError = error.message;
        logger.warn(
          { redis: redactUrl(url), connection: name, error: error.message },
          'cluster: Redis error',
        );
      });
    }
  }

  /** Connects and starts the heartbeat; fails naming the Redis URL (without its password). */
  static async open(
    url: string,
    nodeId: string,
    logger: Logger,
    access: RedisAccess = {},
  ): Promise<RedisBus> {
    const bus = new RedisBus(url, nodeId, logger, redisOptions(url, access));
    try {
      // One after the other: a refused first connection leaves no second one half open.
      await bus.#writer.connect();
      await bus.#reader.connect();
      await bus.#beat();
    } catch (error) {
      bus.#writer.disconnect();
      bus.#reader.disconnect();
      // ioredis rejects with "Connection is closed."; why it closed came as an 'error' event.
      const why = bus.#lastError === undefined ? '' : `${bus.#lastError} `;
      throw new Error(`cluster: Redis ${redactUrl(url)}: ${why}(${(error as Error).message})`);
    }
    bus.#heartbeat = setInterval(() => void bus.#beat().catch(() => undefined), HEARTBEAT_MS);
    bus.#heartbeat.unref();
    return bus;
  }

  /** Whether Redis can be written to now. */
  get up(): boolean {
    return this.#up;
  }

  /** The nodes that joined and are not forgotten, as of the last heartbeat ($SYS, metrics, the API). */
  get nodes(): ReadonlyArray<{ readonly node: string; readonly alive: boolean }> {
    return this.#nodes;
  }

  /** Routes the log from where this node stopped (or joined) on, into `member`. */
  start(member: ClusterMember): void {
    this.#member = member;
    this.#reading = true;
    this.#routed = this.store.startId;
    void this.#read();
  }

  async claim(clientId: string): Promise<string | undefined> {
    const deadline = Date.now() + CLAIM_TIMEOUT_MS;
    try {
      // A write that gives the client id up (a session that just ended here) lands first.
      await this.#member?.settled();
      for (;;) {
        const run = (this.#writer as unknown as { wardenClaim: (...a: string[]) => Promise<string[]> })
          .wardenClaim;
        const [kind, token, at] = (await run.call(
          this.#writer,
          clientId,
          this.nodeId,
          String(LOG_MAX_ENTRIES),
          this.#mayTakeFromTheDead() ? '1' : '0',
        )) as ['mine' | 'new' | 'taken' | 'wait' | 'later', string, string];
        if (kind === 'later') {
          if (Date.now() >= deadline) return 'the node holding the session cannot be told alive or dead yet';
          await new Promise((resolve) => setTimeout(resolve, 250));
          continue;
        }
        if (kind !== 'wait') {
          this.store.tokens.set(clientId, token);
          this.#pending.delete(clientId);
          if (kind === 'taken') {
            this.#logger.info({ clientId, from: at }, 'cluster: session taken from a node that stopped');
            await this.#install([clientId], at);
          }
          return undefined;
        }
        const outcome = await this.#handover(
          clientId,
          at,
          Math.min(deadline - Date.now(), HEARTBEAT_TTL_MS + 1000),
        );
        if (outcome === 'installed') return undefined;
        if (outcome === 'superseded')
          return 'a newer connection with this client id took the session meanwhile';
        if (Date.now() >= deadline) return 'the node holding the session did not hand it over in time';
      }
    } catch (error) {
      return `cluster: Redis: ${(error as Error).message}`;
    }
  }

  /** Waits for the owner to hand the session over (the log says so), at most `ms`. */
  #handover(clientId: string, at: string, ms: number): Promise<Handover> {
    let pending = this.#pending.get(clientId);
    if (pending === undefined) {
      pending = { from: at };
      this.#pending.set(clientId, pending);
    }
    const claim = pending;
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          claim.settle = undefined;
          resolve('timeout');
        },
        Math.max(ms, 0),
      );
      claim.settle = (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
    });
  }

  async #read(): Promise<void> {
    let last = this.#routed;
    while (this.#reading) {
      try {
        const answer = (await this.#reader.xreadBuffer(
          'COUNT',
          100,
          'BLOCK',
          1000,
          'STREAMS',
          LOG,
          last,
        )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        if (answer === null) continue;
        for (const [, entries] of answer) {
          for (const [id, fields] of entries) {
            last = id.toString();
            this.#apply(last, fields);
            this.#routed = last;
          }
        }
        if (this.#installing === 0) this.#member!.logPosition(last);
      } catch (error) {
        if (!this.#reading) return;
        this.#logger.warn({ error: (error as Error).message }, 'cluster: reading the log failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #apply(id: string, fields: Buffer[]): void {
    const [name, value] = fields;
    if (value === undefined) return;
    if (name?.toString() === 'm') {
      for (const m of entryMessages(id, value)) this.#member!.routeFromLog(m.message, m.origin, m.id);
      return;
    }
    const control = JSON.parse(value.toString()) as Control;
    if (control.t === 'claim') this.#claimed(control);
    else if (control.t === 'share') this.#shareChanged(control.g!, control.c, control.m === '1');
    else if (tokenNode(control.o) === this.nodeId) this.#released(id, control);
  }

  /** Every node keeps every shared group's members, in the same order, from the log. */
  #shareChanged(group: string, clientId: string, joined: boolean): void {
    const members = this.store.shares.get(group) ?? [];
    const at = sortedIndex(members, clientId);
    const present = members[at] === clientId;
    if (joined && !present) members.splice(at, 0, clientId);
    else if (!joined && present) members.splice(at, 1);
    if (members.length === 0) this.store.shares.delete(group);
    else this.store.shares.set(group, members);
  }

  chooseShared(group: string, entryId: string): string | undefined {
    const members = this.store.shares.get(group);
    if (members === undefined || members.length === 0) return undefined;
    return members[fnv1a(`${entryId} ${group}`) % members.length];
  }

  /** Another node claims a client id: handed over when this node owns it. */
  #claimed(control: Control): void {
    if (control.f !== undefined && this.store.tokens.get(control.c) === control.f) {
      this.#logger.info({ clientId: control.c, to: tokenNode(control.o) }, 'cluster: session handed over');
      this.#member!.releaseSession(control.c, control.o);
      return;
    }
    const pending = this.#pending.get(control.c);
    if (pending !== undefined && tokenNode(control.o) !== this.nodeId) pending.next = control.o;
  }

  /** A session was handed to this node: installed, then given to a later claimer if there is one. */
  #released(id: string, control: Control): void {
    const clientId = control.c;
    const pending = this.#pending.get(clientId);
    this.#pending.delete(clientId);
    this.store.tokens.set(clientId, control.o);
    void this.#install([clientId], pending?.from ?? id).then(
      () => {
        if (pending?.next !== undefined) {
          pending.settle?.('superseded');
          this.#member!.releaseSession(clientId, pending.next);
        } else pending?.settle?.('installed');
      },
      (error: Error) => {
        this.#logger.error({ clientId, error: error.message }, 'cluster: installing a session failed');
        pending?.settle?.('timeout');
      },
    );
  }

  /**
   * Makes the sessions live here from their records, then routes to them what the log held after
   * `from` up to what this node has routed (later entries reach them as they are routed).
   * `adopted`: taken from a dead node, not claimed for a connection.
   */
  async #install(clientIds: readonly string[], from: string, adopted = false): Promise<void> {
    this.#installing++;
    try {
      const state = await this.store.loadSessions(clientIds);
      const missed: Entry[] = [];
      let end = from;
      for (;;) {
        const batch = (await this.#writer.xrangeBuffer(LOG, `(${end}`, '+', 'COUNT', 1000)) as Array<
          [Buffer, Buffer[]]
        >;
        for (const [id, fields] of batch) missed.push([id.toString(), fields]);
        if (batch.length > 0) end = missed[missed.length - 1]![0];
        // Synchronous from the check on: the reader is not between two entries.
        if (batch.length === 0 || compareIds(end, this.#routed) >= 0) break;
      }
      this.#member!.installSession(state);
      const only = new Set(clientIds);
      for (const [id, [name, value]] of missed) {
        if (compareIds(id, this.#routed) > 0) break;
        if (name?.toString() !== 'm' || value === undefined) continue;
        for (const m of entryMessages(id, value)) this.#member!.replayTo(only, m.message, m.origin, m.id);
      }
      await this.#releaseEnded(clientIds, adopted);
    } finally {
      this.#installing--;
    }
  }

  /**
   * Client ids whose session did not survive the move (it ended with a dead node's connection,
   * or had expired) leave their shared groups, so that no message is chosen for them; taken from
   * a dead node (`disown`), they are nobody's any more (the next CONNECT needs no hand-over).
   */
  async #releaseEnded(clientIds: readonly string[], disown: boolean): Promise<void> {
    const writes: StoreWrite[] = [];
    for (const clientId of clientIds) {
      if (this.#member!.holds(clientId)) continue;
      for (const [group, members] of this.store.shares)
        if (members.includes(clientId)) writes.push({ kind: 'share', group, clientId, member: false });
      if (disown) writes.push({ kind: 'disown', clientId });
    }
    if (writes.length > 0) await this.store.commit(writes);
  }

  /**
   * The sessions of every node whose heartbeat expired become this node's (the script lets one
   * node have them): their wills are published (after their delay, counted from now), their
   * persistent sessions wait here for their clients, and what the log held after the dead
   * node's cursor is routed to them.
   */
  async #adoptDead(): Promise<void> {
    const run = (this.#writer as unknown as { wardenAdopt: (...a: string[]) => Promise<string[]> })
      .wardenAdopt;
    for (const { node, alive } of this.#nodes) {
      if (node === this.nodeId || alive) continue;
      const [from, ...pairs] = (await run.call(this.#writer, node, this.nodeId)) as string[];
      if (from === undefined) continue;
      const clientIds: string[] = [];
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        this.store.tokens.set(pairs[i]!, pairs[i + 1]!);
        clientIds.push(pairs[i]!);
      }
      this.#logger.warn(
        { node, sessions: clientIds.length },
        'cluster: a node stopped beating; its sessions are taken over here',
      );
      await this.#install(clientIds, from, true);
    }
  }

  /**
   * A node whose heartbeat is missing is dead, unless Redis has just come back (a restarted Redis
   * lets every heartbeat expire): then every node gets the time to beat again first.
   */
  #mayTakeFromTheDead(): boolean {
    return Date.now() - this.#upSince > HEARTBEAT_TTL_MS + HEARTBEAT_MS;
  }

  /** The heartbeat; and the log trimmed to what every node has routed. */
  async #beat(): Promise<void> {
    await this.#writer
      .multi()
      .set(nodeKey(this.nodeId), String(Date.now()), 'PX', HEARTBEAT_TTL_MS)
      .sadd(NODES, this.nodeId)
      .exec();
    const known = (await this.#writer.smembers(NODES)).sort();
    const check = this.#writer.pipeline();
    for (const node of known) check.exists(nodeKey(node));
    const alive = (await check.exec()) ?? [];
    this.#nodes = known.map((node, n) => ({ node, alive: alive[n]?.[1] === 1 }));
    if (this.#member !== undefined && !this.#adopting && this.#mayTakeFromTheDead()) {
      this.#adopting = true;
      try {
        await this.#adoptDead();
      } finally {
        this.#adopting = false;
      }
    }
    const cursors = Object.values(await this.#writer.hgetall(CURSORS));
    const oldest = cursors.sort(compareIds)[0];
    if (oldest !== undefined) await this.#writer.xtrim(LOG, 'MINID', '~', oldest);
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#reading = false;
    this.#reader.disconnect();
    for (const pending of this.#pending.values()) pending.settle?.('timeout');
    // This node is gone: its sessions may be taken by the others at once.
    await this.#writer.del(nodeKey(this.nodeId)).catch(() => undefined);
    // QUIT when Redis is there; either way no reconnection keeps the process alive.
    await this.#writer.quit().catch(() => undefined);
    this.#writer.disconnect();
  }
}

/** Where `value` is or would go in a sorted array. */
function sortedIndex(sorted: readonly string[], value: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** FNV-1a: a spread-out hash that every node computes the same. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** How a node proves itself to Redis and checks Redis, beyond the URL (files read at start). */
export interface RedisAccess {
  readonly passwordFile?: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** The files as ioredis options; an unreadable one is named. */
function redisOptions(url: string, access: RedisAccess): RedisOptions {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(
        `cluster: ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  };
  const password = access.passwordFile && read('passwordFile', access.passwordFile).split(/\r?\n/)[0];
  const tls = url.startsWith('rediss://')
    ? {
        ...(access.caFile && { ca: read('caFile', access.caFile) }),
        ...(access.certFile && { cert: read('certFile', access.certFile) }),
        ...(access.keyFile && { key: read('keyFile', access.keyFile) }),
      }
    : undefined;
  if (tls === undefined && (access.caFile || access.certFile || access.keyFile))
    throw new Error('cluster: caFile, certFile and keyFile need a rediss:// URL');
  return { ...(password && { password }), ...(tls && { tls }) };
}

/** A Redis URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable URL)';
  }
}
