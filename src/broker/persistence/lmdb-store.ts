// The embedded store (the default): LMDB under the data directory, one file. A commit is one LMDB
// write transaction, synced to disk before its promise resolves (overlappingSync off), so what
// the core acknowledges after it survives a crash of the process or of the machine.
// Keys: ['meta', 'format'], ['s', clientId], ['m', messageId], ['q', seq], ['i', clientId, packetId],
// ['r', topic]; a string too long for an LMDB key is replaced by its SHA-256 (the record keeps it).

import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, open } from 'lmdb';
import {
  isClusterWrite,
  type MessageRecord,
  type QueuedRecord,
  type RecordWrite,
  type SessionRecord,
  type Store,
  type StoredState,
  type StoreWrite,
} from '../core/store-ports.js';
import { checkRecord } from './check-record.js';
import { StoreError } from './store-error.js';

/** The layout this code writes and reads; a store of a higher format is refused. */
export const STORE_FORMAT = 1;

type Key = (string | number)[];

/** Strings up to this many bytes are keys as they are; longer ones by their hash. */
const MAX_KEY_STRING = 256;
const keyString = (s: string): string =>
  Buffer.byteLength(s) <= MAX_KEY_STRING ? s : `\u0000${createHash('sha256').update(s).digest('hex')}`;

export interface LmdbStoreOptions {
  readonly dir: string;
  readonly file: string;
}

export class LmdbStore implements Store {
  readonly durable = true;
  readonly location: string;
  readonly #db: Database<unknown, Key>;

  private constructor(location: string, db: Database<unknown, Key>) {
    this.location = location;
    this.#db = db;
  }

  /** Opens (creating when absent) the store; a StoreError says why it cannot be used. */
  static open(options: LmdbStoreOptions): LmdbStore {
    const path = join(options.dir, options.file);
    let db: Database<unknown, Key>;
    try {
      mkdirSync(options.dir, { recursive: true });
      checkHeader(path);
      db = open<unknown, Key>({ path, overlappingSync: false, noSync: false, compression: false });
    } catch (error) {
      throw new StoreError(path, openFailure(error));
    }
    const store = new LmdbStore(path, db);
    store.#checkFormat();
    return store;
  }

  #checkFormat(): void {
    let meta: unknown;
    try {
      meta = this.#db.get(['meta', 'format']);
    } catch (error) {
      throw new StoreError(this.location, `cannot be read (${(error as Error).message}); is it corrupt?`);
    }
    if (meta === undefined) {
      try {
        this.#db.putSync(['meta', 'format'], { format: STORE_FORMAT });
      } catch (error) {
        throw new StoreError(this.location, openFailure(error));
      }
      return;
    }
    const format = (meta as { format?: unknown }).format;
    if (typeof format !== 'number')
      throw new StoreError(this.location, 'has no format record; is it corrupt?');
    if (format > STORE_FORMAT)
      throw new StoreError(
        this.location,
        `was written by a newer warden (store format ${format}; this one reads up to ${STORE_FORMAT})`,
      );
  }

  async load(): Promise<StoredState> {
    const sessions: SessionRecord[] = [];
    const messages = new Map<number, MessageRecord>();
    const queued: QueuedRecord[] = [];
    const inbound: Array<{ clientId: string; packetId: number }> = [];
    const retained: MessageRecord[] = [];
    let key: Key | undefined;
    let read = 0;
    try {
      for (const entry of this.#db.getRange({})) {
        // A million records take seconds: let the event loop answer /healthz and /readyz meanwhile.
        if (++read % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
        key = entry.key;
        const value = entry.value;
        // Every key this layout writes is an array; a bare string would pass key[0] as its first letter.
        if (!Array.isArray(key)) throw new Error('a key that is not a record key of this layout');
        switch (key[0]) {
          case 'meta':
            break;
          case 's':
            sessions.push(checkRecord('session', value));
            break;
          case 'm':
            messages.set(key[1] as number, checkRecord('message', value));
            break;
          case 'q':
            queued.push(checkRecord('queued', value));
            break;
          case 'i':
            inbound.push(checkRecord('inbound', value));
            break;
          case 'r':
            retained.push(checkRecord('message', value));
            break;
          default:
            throw new Error(`unknown record kind ${JSON.stringify(key[0])}`);
        }
      }
    } catch (error) {
      const where = key === undefined ? '' : ` at key ${JSON.stringify(key)}`;
      throw new StoreError(this.location, `is corrupt${where}: ${(error as Error).message}`);
    }
    return { sessions, messages, queued, inbound, retained };
  }

  commit(writes: readonly StoreWrite[]): Promise<void> {
    return this.#db.transaction(() => {
      for (const w of writes) if (!isClusterWrite(w)) this.#apply(w);
    }) as Promise<void>;
  }

  #apply(w: RecordWrite): void {
    const db = this.#db;
    const [key, value] = entry(w);
    if (value === undefined) db.removeSync(key);
    else db.putSync(key, value);
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

function entry(w: RecordWrite): [Key, unknown] {
  switch (w.kind) {
    case 'session':
      return [['s', keyString(w.clientId)], w.record];
    case 'message':
      return [['m', w.id], w.record];
    case 'queued':
      return [['q', w.seq], w.record];
    case 'inbound':
      return [
        ['i', keyString(w.clientId), w.packetId],
        w.present ? { clientId: w.clientId, packetId: w.packetId } : undefined,
      ];
    case 'retained':
      return [['r', keyString(w.topic)], w.record];
  }
}

/** Records read between two turns of the event loop while loading. */
const YIELD_EVERY = 5000;

/** LMDB's meta page: its magic number and data version, 24 bytes in (after the page header). */
const LMDB_MAGIC = 0xbeefc0de;
const LMDB_DATA_VERSION = 2;

/**
 * An existing file must be an LMDB file before LMDB maps it: LMDB trusts its header, and a file
 * that is not one (a mosquitto.db, a truncated copy) can crash the process instead of failing.
 */
function checkHeader(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const header = Buffer.alloc(32);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read === 0) return;
    if (read < header.length || header.readUInt32LE(24) !== LMDB_MAGIC)
      throw new Error('MDB_INVALID: not an LMDB file');
    if (header.readUInt32LE(28) !== LMDB_DATA_VERSION) throw new Error('MDB_VERSION_MISMATCH');
  } finally {
    closeSync(fd);
  }
}

/** Why LMDB (or the directory) refused, in words. */
function openFailure(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const message = e.message ?? String(error);
  if (e.code === 'EACCES' || /permission denied/i.test(message)) return 'permission denied';
  if (e.code === 'EROFS' || /read-only/i.test(message)) return 'read-only file system';
  if (e.code === 'ENOSPC' || /no space/i.test(message)) return 'no space left on the device';
  if (/MDB_INVALID|not an LMDB/i.test(message))
    return 'is not a warden store (not an LMDB file), or is corrupt';
  if (/MDB_VERSION_MISMATCH/i.test(message)) return 'was written by another LMDB version';
  return message;
}
