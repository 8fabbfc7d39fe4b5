// The store conformance suite against each store: the memory store and the embedded LMDB store
// (reopened from its file between writes and reads). Then what only a file-backed store can meet:
// a file that is not a store, a store of a newer format, a damaged record, a directory it may
// not write to.

import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open } from 'lmdb';
import type { Store } from '../../src/broker/core/store-ports.js';
import { LmdbStore, STORE_FORMAT } from '../../src/broker/persistence/lmdb-store.js';
import { MemoryStore } from '../../src/broker/persistence/memory-store.js';
import { StoreError } from '../../src/broker/persistence/store-error.js';
import { run, WARDEN } from '../support/processes.js';
import { storeConformance } from './store-conformance.js';

const root = mkdtempSync(join(tmpdir(), 'warden-stores-'));
let count = 0;

storeConformance('memory', {
  fresh: async () => new MemoryStore(),
  reopen: async (store) => store,
});

const dirs = new WeakMap<Store, string>();
storeConformance('lmdb', {
  async fresh() {
    const dir = join(root, `conformance-${++count}`);
    const store = LmdbStore.open({ dir, file: 'warden.mdb' });
    dirs.set(store, dir);
    return store;
  },
  async reopen(store) {
    const dir = dirs.get(store)!;
    await store.close();
    const again = LmdbStore.open({ dir, file: 'warden.mdb' });
    dirs.set(again, dir);
    return again;
  },
});

/** The message LmdbStore.open refuses `dir` with. */
async function refusal(dir: string): Promise<string> {
  try {
    const store = LmdbStore.open({ dir, file: 'warden.mdb' });
    await store.load();
    await store.close();
  } catch (error) {
    assert.ok(error instanceof StoreError, `a StoreError, not ${String(error)}`);
    return error.message;
  }
  assert.fail('the store was opened');
}

describe('a store that cannot be used', () => {
  it('refuses a file that is not a store, naming it (a crash inside LMDB otherwise)', async () => {
    const dir = join(root, 'not-a-store');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'warden.mdb'),
      'SQLite format 3\u0000 or any other bytes at all, more than a header',
    );
    assert.match(
      await refusal(dir),
      /store .*not-a-store\/warden\.mdb: is not a warden store \(not an LMDB file\)/,
    );
  });

  it('refuses a store written by a newer warden', async () => {
    const dir = join(root, 'newer');
    const db = open({ path: join(dir, 'warden.mdb') });
    await db.put(['meta', 'format'], { format: STORE_FORMAT + 1 });
    await db.close();
    assert.match(
      await refusal(dir),
      /was written by a newer warden \(store format 2; this one reads up to 1\)/,
    );
  });

  it('names the key of a damaged record', async () => {
    const dir = join(root, 'damaged');
    const store = LmdbStore.open({ dir, file: 'warden.mdb' });
    await store.commit([
      {
        kind: 'session',
        clientId: 'fine',
        record: { clientId: 'fine', expiryInterval: 1, subscriptions: [] },
      },
    ]);
    await store.close();
    const db = open({ path: join(dir, 'warden.mdb') });
    await db.put(['s', 'broken'], { clientId: 42 });
    await db.close();
    assert.match(
      await refusal(dir),
      /is corrupt at key \["s","broken"\]: a session record has missing or mistyped fields/,
    );
  });

  it('names a key this layout never writes (a bare string, as a one-element array key reads back)', async () => {
    const dir = join(root, 'foreign-key');
    await LmdbStore.open({ dir, file: 'warden.mdb' }).close();
    const db = open({ path: join(dir, 'warden.mdb') });
    await db.put('meta', { format: 1 });
    await db.close();
    assert.match(
      await refusal(dir),
      /is corrupt at key "meta": a key that is not a record key of this layout/,
    );
  });

  it('stops `warden broker` on a read-only data directory with the path and the reason, no stack trace', async () => {
    const dir = join(root, 'read-only');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    // Root writes anywhere: the broker then runs as nobody, to whom the directory is read-only.
    const asNobody = process.getuid?.() === 0;
    if (asNobody) {
      chownSync(root, 0, 0);
      chmodSync(root, 0o755);
    }
    const result = await run(
      asNobody ? 'setpriv' : 'node',
      [
        ...(asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', 'node'] : []),
        ...[...WARDEN, 'broker', '-p', '0', '--no-ws', '--no-tls', '--data-dir', dir],
      ],
      20_000,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /warden broker: store .*read-only\/warden\.mdb: permission denied/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
});
