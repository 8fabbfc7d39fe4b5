// The store the configuration asks for, opened and read back into the core at start: the
// embedded LMDB store under the data directory by default, the memory store with persistence off.

import type { BrokerConfig } from '../config/config-schema.js';
import type { BrokerCore } from '../core/broker-core.js';
import type { Logger } from '../core/ports.js';
import { type RecoveryReport, recover } from '../core/recovery.js';
import type { Store } from '../core/store-ports.js';
import { MemoryStore } from './memory-store.js';

export interface StoreReport {
  /** The store file, or "memory". */
  readonly location: string;
  readonly durable: boolean;
  readonly recovered: RecoveryReport;
  /** Milliseconds from reading the store to a rebuilt core. */
  readonly recoveryMs: number;
}

/** Throws a StoreError (path and reason) when the embedded store cannot be used. */
export async function openStore(config: BrokerConfig, log: Logger): Promise<Store> {
  const p = config.persistence;
  if (!p.enabled) {
    log.info({}, 'persistence off: sessions and retained messages are kept in memory only');
    return new MemoryStore();
  }
  // Loaded only when used: LMDB's native module has no business in a memory-only broker.
  const { LmdbStore } = await import('./lmdb-store.js');
  return LmdbStore.open({ dir: p.dir ?? config.dataDir, file: p.file });
}

/** Reads everything back and rebuilds the core's sessions, queues, retained messages and deadlines. */
export async function recoverStore(core: BrokerCore, store: Store, log: Logger): Promise<StoreReport> {
  const started = performance.now();
  const recovered = recover(core, await store.load());
  const recoveryMs = Math.round(performance.now() - started);
  if (store.durable) log.info({ store: store.location, ...recovered, ms: recoveryMs }, 'store recovered');
  return { location: store.location, durable: store.durable, recovered, recoveryMs };
}
