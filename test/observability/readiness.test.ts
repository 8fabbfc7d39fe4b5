// /readyz while the broker starts: the admin listener is up before the store is recovered, and
// says 503 with what it waits for until every listener is bound, then 200. The store here holds
// 50,000 sessions, so that recovery takes long enough to be seen (the store's load gives the
// event loop a turn every few thousand records, so the admin listener answers meanwhile).

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import { createBroker } from '../../src/broker/index.js';
import { LmdbStore } from '../../src/broker/persistence/lmdb-store.js';

describe('/readyz during start', () => {
  it('503 with the reason while the store is recovered, then 200', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-readyz-'));
    const store = LmdbStore.open({ dir, file: 'warden.mdb' });
    const sessions = Array.from({ length: 50_000 }, (_, i) => ({
      kind: 'session' as const,
      clientId: `device-${i}`,
      record: {
        clientId: `device-${i}`,
        expiryInterval: 86_400,
        subscriptions: [{ filter: `d/${i}/#`, qos: 1 as const, noLocal: false, retainAsPublished: false }],
      },
    }));
    await store.commit(sessions);
    await store.close();

    const port = await freePort();
    const answers: string[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`);
          const body = (await response.json()) as { status: string; reason?: string };
          const answer = `${response.status} ${body.reason ?? body.status}`;
          if (answers.at(-1) !== answer) answers.push(answer);
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const broker = await createBroker(
      {
        listeners: [{ host: '127.0.0.1', port: 0 }],
        persistence: { dir },
        sysInterval: 0,
        admin: { port },
      },
      pino({ level: 'silent' }),
    );
    try {
      assert.equal(broker.store.recovered.sessions, 50_000);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      polling = false;
      await poll;
      assert.ok(
        answers.some((a) => a === '503 recovering the store'),
        `seen: ${answers.join(', ')}`,
      );
    } finally {
      polling = false;
      await broker.close();
    }
  });
});
