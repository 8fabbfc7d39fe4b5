// The cluster bus on Redis (ioredis: maintained, Streams and TLS, reconnects with backoff).
// Every message published on a node is appended to one Redis Stream, in the same turn's commit
// as the node's own writes, so its publisher's PUBACK/PUBREC waits until Redis has it; every
// node reads the stream from where it joined and routes what the others wrote. Redis Streams
// keep what was written (pub/sub would drop it while a reader is busy or reconnecting).
//
// First step of the cluster (issue 15): cross-node delivery and shared retained messages.
// Sessions still belong to the node a client is connected to.

import { Redis } from 'ioredis';
import type { Message } from '../core/message.js';
import type { Logger } from '../core/ports.js';
import type { Store, StoreWrite } from '../core/store-ports.js';

const STREAM = 'warden:messages';
/** The stream is trimmed to about this many entries: the bus, not an archive. */
const MAX_ENTRIES = 100_000;

/** One stream entry: [u32 header length][JSON header][payload bytes]. */
function encode(node: string, m: Message): Buffer {
  const header = Buffer.from(
    JSON.stringify({ n: node, t: m.topic, q: m.qos, r: m.retain, p: m.properties, e: m.expiresAt }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([length, header, m.payload]);
}

/** Buffers inside the properties (correlation data, authentication data) survive JSON as {type, data}. */
const revive = (_key: string, value: unknown) =>
  typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer'
    ? Buffer.from((value as { data: number[] }).data)
    : value;

function decode(frame: Buffer): { node: string; message: Message } {
  const length = frame.readUInt32BE(0);
  const h = JSON.parse(frame.subarray(4, 4 + length).toString('utf8'), revive) as {
    n: string;
    t: string;
    q: 0 | 1 | 2;
    r: boolean;
    p?: Message['properties'];
    e?: number;
  };
  const message: Message = {
    topic: h.t,
    payload: Buffer.from(frame.subarray(4 + length)),
    qos: h.q,
    retain: h.r,
    ...(h.p !== undefined && { properties: h.p }),
    ...(h.e !== undefined && { expiresAt: h.e }),
  };
  return { node: h.n, message };
}

export class RedisBus {
  readonly nodeId: string;
  readonly #writer: Redis;
  readonly #reader: Redis;
  readonly #logger: Logger;
  #reading = false;
  /** Whether the writer connection is up: acknowledgements can be given (readiness, metrics). */
  #up = false;

  private constructor(url: string, nodeId: string, logger: Logger) {
    this.nodeId = nodeId;
    this.#logger = logger;
    const options = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.#writer = new Redis(url, options);
    this.#reader = new Redis(url, { ...options, maxRetriesPerRequest: null });
    this.#writer.on('ready', () => {
      if (!this.#up) logger.info({ redis: redactUrl(url) }, 'cluster: Redis reachable');
      this.#up = true;
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
      connection.on('error', (error: Error) =>
        logger.warn(
          { redis: redactUrl(url), connection: name, error: error.message },
          'cluster: Redis error',
        ),
      );
    }
  }

  /** Connects both connections; fails naming the Redis URL (without its password). */
  static async open(url: string, nodeId: string, logger: Logger): Promise<RedisBus> {
    const bus = new RedisBus(url, nodeId, logger);
    try {
      await Promise.all([bus.#writer.connect(), bus.#reader.connect()]);
    } catch (error) {
      bus.#writer.disconnect();
      bus.#reader.disconnect();
      throw new Error(`cluster: Redis ${redactUrl(url)}: ${(error as Error).message}`);
    }
    return bus;
  }

  /** Whether Redis can be written to now. */
  get up(): boolean {
    return this.#up;
  }

  /** The node's store, with its forwarded messages written to the stream in the same commit. */
  wrap(local: Store): Store {
    return {
      durable: true,
      location: local.location,
      load: () => local.load(),
      close: () => local.close(),
      commit: async (writes: readonly StoreWrite[]) => {
        const forwards = writes.filter((w) => w.kind === 'forward');
        const own = forwards.length === writes.length ? undefined : local.commit(writes);
        if (forwards.length > 0) {
          const pipeline = this.#writer.pipeline();
          for (const f of forwards)
            pipeline.xadd(
              STREAM,
              'MAXLEN',
              '~',
              String(MAX_ENTRIES),
              '*',
              'm',
              encode(this.nodeId, f.message),
            );
          const results = await pipeline.exec();
          const failed = results?.find(([error]) => error !== null)?.[0];
          if (results === null || failed)
            throw new Error(`cluster: Redis refused the write: ${failed?.message ?? 'no answer'}`);
        }
        await own;
      },
    };
  }

  /** Reads what the other nodes publish from now on, and hands each message to `deliver`. */
  start(deliver: (message: Message) => void): void {
    this.#reading = true;
    void this.#read(deliver);
  }

  async #read(deliver: (message: Message) => void): Promise<void> {
    let last = '$';
    while (this.#reading) {
      try {
        const answer = (await this.#reader.xreadBuffer(
          'COUNT',
          500,
          'BLOCK',
          1000,
          'STREAMS',
          STREAM,
          last,
        )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        for (const [, entries] of answer ?? []) {
          for (const [id, fields] of entries) {
            last = id.toString();
            const frame = fields[1];
            if (frame === undefined) continue;
            const { node, message } = decode(frame);
            if (node !== this.nodeId) deliver(message);
          }
        }
      } catch (error) {
        if (!this.#reading) return;
        this.#logger.warn({ error: (error as Error).message }, 'cluster: reading the bus failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async close(): Promise<void> {
    this.#reading = false;
    this.#reader.disconnect();
    // QUIT when Redis is there; either way no reconnection keeps the process alive.
    await this.#writer.quit().catch(() => undefined);
    this.#writer.disconnect();
  }
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
