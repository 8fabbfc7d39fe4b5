// Library hooks in the authentication and authorization chains: allow, deny (with a reason code)
// and defer to the password file; a hook that throws or hangs denies without hurting anyone else;
// all-defer denies; an asynchronous decision keeps the client's packets in order.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Broker, SecurityHooks } from '../../src/broker/index.js';
import { encodePacket } from '../../src/protocol/index.js';
import { createBroker } from '../support/memory-broker.js';
import { publishAckCode } from '../support/mqttjs-acks.js';
import { run, within } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-hooks-'));
const passwordFile = join(dir, 'passwords');
let broker: Broker;
let url: string;
const never = new Promise<never>(() => undefined);

const hooks: SecurityHooks = {
  authenticate: [
    {
      authenticate(request) {
        if (request.username === 'thrower') throw new Error('hook bug');
        if (request.username === 'hanger') return never;
        if (request.username === 'banned') return { verdict: 'deny', reason: 'banned', reasonCode: 0x8a };
        return { verdict: 'defer' };
      },
    },
    {
      async authenticate(request) {
        return request.username === 'vip' ? { verdict: 'allow', username: 'vip' } : { verdict: 'defer' };
      },
    },
  ],
  authorize: [
    {
      authorize(request) {
        if (request.topic.startsWith('forbidden/')) return 'deny';
        if (request.topic.startsWith('boom/')) throw new Error('authorizer bug');
        if (request.topic.startsWith('hang/')) return never;
        return 'defer';
      },
    },
    {
      async authorize(request) {
        if (request.topic.startsWith('slow/')) await new Promise((r) => setTimeout(r, 150));
        return request.topic.startsWith('free/') || request.topic.startsWith('slow/') || request.topic === '#'
          ? 'allow'
          : 'defer';
      },
    },
  ],
};

before(async () => {
  assert.equal((await run('mosquitto_passwd', ['-c', '-b', passwordFile, 'alice', 'alice-pw'])).code, 0);
  broker = await createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      passwordFile,
      authHookTimeoutMs: 300,
      failedLoginDelay: { baseMs: 0, maxMs: 0 },
      sysInterval: 0,
    },
    pino({ level: 'silent' }),
    hooks,
  );
  url = `mqtt://127.0.0.1:${broker.listeners[0]!.port}`;
});
after(() => broker.close());

async function connackCode(username: string, password?: string): Promise<number | undefined> {
  try {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      username,
      password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await client.endAsync();
    return 0;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

describe('authentication hooks', () => {
  it('allow, deny with its reason code, defer to the password file', async () => {
    assert.equal(await connackCode('vip'), 0, 'allowed by the second hook without a password');
    assert.equal(await connackCode('banned', 'x'), 0x8a, "the hook's reason code");
    assert.equal(await connackCode('alice', 'alice-pw'), 0, 'deferred to the password file');
    assert.equal(await connackCode('alice', 'wrong'), 0x86);
  });

  it('a hook that throws or hangs denies that client and no one else', async () => {
    const hanging = connackCode('hanger', 'x');
    assert.equal(await connackCode('thrower', 'x'), 0x87);
    assert.equal(await connackCode('alice', 'alice-pw'), 0, 'others connect while a hook hangs');
    assert.equal(await within(hanging, 5000, 'the hanging hook times out'), 0x87);
    assert.equal(await connackCode('alice', 'alice-pw'), 0, 'the broker is still up');
  });
});

describe('a client that floods while its login is decided', () => {
  it('is cut off past 4 MiB held back, long before its hook would time out, and nobody else notices', async () => {
    // A hook that never answers, and a time-out far beyond this test's wait: only the cap can close it.
    const patient = await createBroker(
      {
        listeners: [{ host: '127.0.0.1', port: 0 }],
        passwordFile,
        authHookTimeoutMs: 60_000,
        sysInterval: 0,
      },
      pino({ level: 'silent' }),
      { authenticate: [{ authenticate: (r) => (r.username === 'hanger' ? never : { verdict: 'defer' }) }] },
    );
    after(() => patient.close());
    const socket = connectTcp({ host: '127.0.0.1', port: patient.listeners[0]!.port });
    await once(socket, 'connect');
    socket.on('error', () => undefined);
    const closed = once(socket, 'close');
    socket.write(
      encodePacket(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 5,
          clean: true,
          keepAlive: 30,
          clientId: 'flood',
          username: 'hanger',
        },
        5,
      ),
    );
    const publish = encodePacket(
      {
        type: 'publish',
        topic: 'flood/x',
        payload: Buffer.alloc(512 * 1024),
        qos: 0,
        retain: false,
        dup: false,
      },
      5,
    );
    for (let i = 0; i < 12; i++) socket.write(publish);
    await within(closed, 5000, 'the flooding client is closed');
    const other = await mqtt.connectAsync(`mqtt://127.0.0.1:${patient.listeners[0]!.port}`, {
      username: 'alice',
      password: 'alice-pw',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await other.endAsync();
  });
});

describe('authorization hooks', () => {
  it('deny, throw, hang and all-defer refuse; allow lets through; order is kept behind a slow decision', async () => {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      username: 'alice',
      password: 'alice-pw',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    try {
      await client.subscribeAsync('#', { qos: 1 });
      const seen: string[] = [];
      client.on('message', (topic) => seen.push(topic));
      const puback = (topic: string) => publishAckCode(client, topic, 'x');
      assert.equal(await puback('forbidden/x'), 0x87);
      assert.equal(await puback('boom/x'), 0x87);
      assert.equal(await puback('hang/x'), 0x87);
      assert.equal(await puback('other/x'), 0x87, 'every hook deferred and there is no ACL file: denied');
      // Sent back to back: the slow decision holds the second publish back, so they arrive in order.
      const [slow, fast] = await Promise.all([puback('slow/first'), puback('free/second')]);
      assert.deepEqual([slow, fast], [0, 0]);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(seen, ['slow/first', 'free/second']);
    } finally {
      await client.endAsync();
    }
  });
});
