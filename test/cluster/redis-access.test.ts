// A cluster node reaching Redis the way a production Redis is set up: TLS only (rediss://, the
// server's certificate verified against the configured CA, from a PKI generated for this run)
// and a password read from a file. A wrong CA, a wrong password and a missing password file
// each stop the node at start with an error that names what is wrong.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import { freePort } from '../../bench/bench-process.js';
import { createTestPki, type TestPki } from '../fixtures/test-pki.js';
import { createBroker } from '../support/memory-broker.js';
import { type Started, start, until, within } from '../support/processes.js';

let pki: TestPki;
let redis: Started;
let url: string;
let passwordFile: string;
const PASSWORD = 'redis-s3cret';

const node = (cluster: Record<string, string>) =>
  createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      allowAnonymous: true,
      sysInterval: 0,
      cluster: { redis: url, nodeId: 'tls-node', ...cluster },
    },
    pino({ level: 'silent' }),
  );

before(async () => {
  pki = await createTestPki();
  passwordFile = join(pki.dir, 'redis-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  const port = await freePort();
  redis = start('redis-server', [
    ...['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1'],
    ...['--tls-cert-file', pki.servers.valid.cert, '--tls-key-file', pki.servers.valid.key],
    ...['--tls-ca-cert-file', pki.caFile, '--tls-auth-clients', 'no'],
    ...['--requirepass', PASSWORD, '--save', '', '--appendonly', 'no'],
  ]);
  await redis.waitFor(/Ready to accept connections/, 10_000);
  url = `rediss://127.0.0.1:${port}`;
});
after(async () => {
  await redis?.stop();
});

describe('Redis over TLS with a password file', () => {
  it('a node verifies Redis against its CA, logs in with the password from the file and works', async () => {
    const broker = await node({ caFile: pki.caFile, passwordFile });
    try {
      const client = await within(
        mqtt.connectAsync(`mqtt://127.0.0.1:${broker.listeners[0]!.port}`, { reconnectPeriod: 0 }),
        5000,
        'connect',
      );
      const got: string[] = [];
      client.on('message', (_t, payload) => got.push(payload.toString()));
      await client.subscribeAsync('tls/x', { qos: 1 });
      await client.publishAsync('tls/x', 'through rediss', { qos: 1 });
      await until('the message, back from the log', () => got.length === 1, 5000);
      assert.deepEqual(got, ['through rediss']);
      await client.endAsync();
    } finally {
      await broker.close();
    }
  });

  it('a Redis certificate from another CA stops the node at start, naming the URL', async () => {
    await assert.rejects(node({ caFile: pki.fakeCaFile, passwordFile }), (error: Error) => {
      assert.match(error.message, /cluster: Redis rediss:\/\/127\.0\.0\.1:\d+/);
      assert.match(error.message, /certificate|signature/i);
      return true;
    });
  });

  it('a wrong password stops the node, and the password is never in the error', async () => {
    const wrong = join(pki.dir, 'wrong-password');
    writeFileSync(wrong, 'not-it\n');
    await assert.rejects(node({ caFile: pki.caFile, passwordFile: wrong }), (error: Error) => {
      assert.match(error.message, /WRONGPASS|invalid username-password/i);
      assert.doesNotMatch(error.message, /not-it|redis-s3cret/);
      return true;
    });
  });

  it('a missing password file is named', async () => {
    const missing = join(pki.dir, 'no-such-file');
    await assert.rejects(node({ caFile: pki.caFile, passwordFile: missing }), (error: Error) => {
      assert.equal(error.message, `cluster: passwordFile ${missing}: ENOENT`);
      return true;
    });
  });
});
