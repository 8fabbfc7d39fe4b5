// `warden broker --workers 2 --cluster ...`: two nodes in one command, sharing one port. The
// connections are spread over both workers (each client id's owner in Redis names its node), a
// message published through one reaches subscribers on both, and a worker killed with SIGKILL
// is started again while the other keeps serving.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { runWarden, type Started, start, until, WARDEN, within } from '../support/processes.js';
import { type RunningRedis, startRedis } from '../support/redis.js';

let redis: RunningRedis;
let inspect: Redis;
let broker: Started | undefined;

before(async () => {
  redis = await startRedis();
  inspect = new Redis(redis.url);
});
after(async () => {
  await broker?.stop();
  inspect?.disconnect();
  await redis?.stop();
});

const owner = async (clientId: string) => (await inspect.get(`warden:owner:${clientId}`)) ?? '';

describe('--workers', () => {
  it('needs --cluster', async () => {
    const result = await runWarden('broker', '-p', '0', '--no-ws', '--no-tls', '--workers', '2');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--workers needs --cluster/);
  });

  it('two workers share the port, spread the connections, and route between them', async () => {
    broker = start('node', [
      ...WARDEN,
      'broker',
      ...['-p', '0', '--no-ws', '--no-tls', '--workers', '2'],
      ...['--cluster', redis.url, '--node-id', 'w'],
    ]);
    const [, first] = await broker.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/, 30_000);
    await broker.waitFor(
      new RegExp(
        `listening on mqtt://127\\.0\\.0\\.1:${first}[\\s\\S]*listening on mqtt://127\\.0\\.0\\.1:${first}`,
      ),
      30_000,
    );
    const port = Number(first);
    const clients: MqttClient[] = [];
    const got = new Map<string, string[]>();
    for (let n = 0; n < 6; n++) {
      const clientId = `spread-${n}`;
      const client = await within(
        mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, protocolVersion: 5, reconnectPeriod: 0 }),
        10_000,
        clientId,
      );
      got.set(clientId, []);
      client.on('message', (_t, payload) => got.get(clientId)!.push(payload.toString()));
      await client.subscribeAsync('spread/x', { qos: 1 });
      clients.push(client);
    }
    const nodes = new Set(
      await Promise.all([...got.keys()].map(async (id) => (await owner(id)).split('@')[1])),
    );
    assert.deepEqual([...nodes].sort(), ['w-1', 'w-2']);
    await clients[0]!.publishAsync('spread/x', 'to all six', { qos: 1 });
    await until('all six subscribers', () => [...got.values()].every((g) => g.length === 1), 10_000);

    // A worker killed is started again; the clients of the other are not touched.
    const [, pid] = await broker.waitFor(/worker 2 started \(pid (\d+)\)/, 5000);
    process.kill(Number(pid), 'SIGKILL');
    await broker.waitFor(/worker 2 exited \(SIGKILL\); starting it again/, 10_000);
    await broker.waitFor(/worker 2 started \(pid (?!${pid}\))\d+\)/, 10_000);
    const onOne = await Promise.all([...got.keys()].map(async (id) => (await owner(id)).endsWith('@w-1')));
    const kept = clients.filter((_, n) => onOne[n]);
    assert.ok(kept.length > 0 && kept.every((c) => c.connected), "worker 1's clients stay connected");
    for (const g of got.values()) g.length = 0;
    await kept[0]!.publishAsync('spread/x', 'after the restart', { qos: 1 });
    await until(
      "worker 1's subscribers",
      () => kept.every((c) => got.get(c.options.clientId!)!.length === 1),
      10_000,
    );
    for (const c of clients) c.end(true);
  });
});
