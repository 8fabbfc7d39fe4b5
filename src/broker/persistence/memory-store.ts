// The memory store (persistence off): the same records as the embedded store, in maps, applied
// at once. Nothing survives the process; a core reopened on it within one process recovers.

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

export class MemoryStore implements Store {
  readonly durable = false;
  readonly location = 'memory';
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #messages = new Map<number, MessageRecord>();
  /** "clientId seq" -> record; the space cannot be in a seq, so the key is unambiguous. */
  readonly #queued = new Map<string, QueuedRecord>();
  readonly #inbound = new Map<string, { clientId: string; packetId: number }>();
  readonly #retained = new Map<string, MessageRecord>();

  async load(): Promise<StoredState> {
    return {
      sessions: [...this.#sessions.values()],
      messages: new Map(this.#messages),
      queued: [...this.#queued.values()].sort((a, b) => a.seq - b.seq),
      inbound: [...this.#inbound.values()],
      retained: [...this.#retained.values()],
    };
  }

  commit(writes: readonly StoreWrite[]): undefined {
    for (const w of writes) if (!isClusterWrite(w)) this.#apply(w);
    return undefined;
  }

  async close(): Promise<void> {}

  #apply(w: RecordWrite): void {
    switch (w.kind) {
      case 'session':
        put(this.#sessions, w.clientId, w.record);
        break;
      case 'message':
        put(this.#messages, w.id, w.record);
        break;
      case 'queued':
        put(this.#queued, `${w.clientId} ${w.seq}`, w.record);
        break;
      case 'inbound':
        put(
          this.#inbound,
          `${w.clientId} ${w.packetId}`,
          w.present ? { clientId: w.clientId, packetId: w.packetId } : undefined,
        );
        break;
      case 'retained':
        put(this.#retained, w.topic, w.record);
    }
  }
}

function put<K, V>(map: Map<K, V>, key: K, value: V | undefined): void {
  if (value === undefined) map.delete(key);
  else map.set(key, value);
}
