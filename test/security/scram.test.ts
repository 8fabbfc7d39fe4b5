// SCRAM-SHA-256 enhanced authentication (MQTT 5 AUTH) with MQTT.js as the client and, for
// re-authentication, mqtt-packet over a raw socket: success with the broker's signature checked,
// a wrong password, an unknown user, an unoffered method, and re-authentication passing and failing.

import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import pino from 'pino';
import type { Broker } from '../../src/broker/index.js';
import { ClientError, connect, scramSha256 } from '../../src/client/index.js';
import { createBroker } from '../support/memory-broker.js';
import { runWarden, within } from '../support/processes.js';
import { startTestBroker } from '../support/test-broker.js';

const METHOD = 'SCRAM-SHA-256';
const dir = mkdtempSync(join(tmpdir(), 'warden-scram-'));
const passwordFile = join(dir, 'passwords');
let broker: Broker;
let port: number;
let url: string;

before(async () => {
  assert.equal(
    (await runWarden('passwd', '-c', '-H', 'scram-sha-256', '-b', passwordFile, 'sam', 'sam-pw')).code,
    0,
  );
  assert.equal((await runWarden('passwd', '-b', passwordFile, 'alice', 'alice-pw')).code, 0);
  ({ broker, port, url } = await startTestBroker({
    allowAnonymous: false,
    passwordFile,
    failedLoginDelay: { baseMs: 0, maxMs: 0 },
  }));
});
after(() => broker.close());

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** The client side of RFC 5802, written from the RFC for this test. */
function scramClient(user: string, password: string) {
  const bare = `n=${user},r=${randomBytes(18).toString('base64')}`;
  let expectedServer = '';
  return {
    first: Buffer.from(`n,,${bare}`),
    final(serverFirst: string): Buffer {
      const fields = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
      const salted = pbkdf2Sync(
        password,
        Buffer.from(fields.get('s')!, 'base64'),
        Number(fields.get('i')),
        32,
        'sha256',
      );
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=biws,r=${fields.get('r')}`;
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
      expectedServer = `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`;
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
    },
    get expectedServer() {
      return expectedServer;
    },
  };
}

/** MQTT.js through the SCRAM exchange; the CONNACK's code and Authentication Data. */
async function scramConnect(user: string, password: string, method = METHOD) {
  const scram = scramClient(user, password);
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    properties: { authenticationMethod: method, authenticationData: scram.first },
  });
  client.handleAuth = (packet, callback) => {
    const serverFirst = packet.properties?.authenticationData?.toString() ?? '';
    callback(undefined, {
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: method, authenticationData: scram.final(serverFirst) },
    });
  };
  const outcome = await within(
    new Promise<{ code: number; data?: string }>((resolve) => {
      client.once('connect', (connack) =>
        resolve({ code: 0, data: connack.properties?.authenticationData?.toString() }),
      );
      client.once('error', (error) => resolve({ code: (error as { code?: number }).code ?? -1 }));
    }),
    10_000,
    'SCRAM CONNACK',
  );
  await client.endAsync(true);
  return { ...outcome, expectedServer: scram.expectedServer };
}

describe('SCRAM-SHA-256', () => {
  it('succeeds with the right password, and the broker proves it knew it', async () => {
    const result = await scramConnect('sam', 'sam-pw');
    assert.equal(result.code, 0);
    assert.ok(result.expectedServer.startsWith('v='));
    assert.equal(result.data, result.expectedServer, "the CONNACK carries the broker's signature");
  });

  it('fails for a wrong password, an unknown user, a non-SCRAM entry, and an unoffered method', async () => {
    assert.equal((await scramConnect('sam', 'wrong')).code, 0x87);
    assert.equal((await scramConnect('nobody', 'x')).code, 0x87);
    assert.equal((await scramConnect('alice', 'alice-pw')).code, 0x87, 'a scrypt entry cannot answer SCRAM');
    assert.equal((await scramConnect('sam', 'sam-pw', 'KERBEROS')).code, 0x8c);
    assert.ok(broker.core.stats.loginFailures >= 4);
  });

  it('a SCRAM entry also takes the plain CONNECT password', async () => {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      username: 'sam',
      password: 'sam-pw',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await client.endAsync();
  });

  it('re-authentication (AUTH 0x19): passes with the password, disconnects with 0x87 without it', async () => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: mqttPacket.Packet[] = [];
    let wake: () => void = () => undefined;
    parser.on('packet', (p) => {
      packets.push(p);
      wake();
    });
    socket.on('data', (d) => parser.parse(d));
    const send = (p: object) =>
      socket.write(mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: 5 }));
    const next = () =>
      within(
        new Promise<mqttPacket.Packet>((resolve) => {
          const check = () => {
            const p = packets.shift();
            if (p) resolve(p);
            else wake = check;
          };
          check();
        }),
        5000,
        'a packet from the broker',
      );
    /** One exchange: the opening packet, AUTH 0x18 from the broker, our final, the broker's last word. */
    const exchange = async (open: (first: Buffer) => object, password: string) => {
      const scram = scramClient('sam', password);
      send(open(scram.first));
      const challenge = (await next()) as mqttPacket.IAuthPacket;
      assert.equal(challenge.cmd, 'auth');
      assert.equal(challenge.reasonCode, 0x18);
      send({
        cmd: 'auth',
        reasonCode: 0x18,
        properties: {
          authenticationMethod: METHOD,
          authenticationData: scram.final(challenge.properties!.authenticationData!.toString()),
        },
      });
      return { last: await next(), expectedServer: scram.expectedServer };
    };
    try {
      const connected = await exchange(
        (first) => ({
          cmd: 'connect',
          protocolVersion: 5,
          clientId: 'reauth',
          clean: true,
          keepalive: 30,
          properties: { authenticationMethod: METHOD, authenticationData: first },
        }),
        'sam-pw',
      );
      assert.equal(connected.last.cmd, 'connack');
      assert.equal((connected.last as mqttPacket.IConnackPacket).reasonCode, 0);

      const reauth = (first: Buffer) => ({
        cmd: 'auth',
        reasonCode: 0x19,
        properties: { authenticationMethod: METHOD, authenticationData: first },
      });
      const passed = await exchange(reauth, 'sam-pw');
      assert.equal(passed.last.cmd, 'auth');
      assert.equal((passed.last as mqttPacket.IAuthPacket).reasonCode, 0);
      assert.equal(
        (passed.last as mqttPacket.IAuthPacket).properties?.authenticationData?.toString(),
        passed.expectedServer,
      );
      // Still connected: a ping is answered.
      send({ cmd: 'pingreq' });
      assert.equal((await next()).cmd, 'pingresp');

      const failed = await exchange(reauth, 'wrong');
      assert.equal(failed.last.cmd, 'disconnect');
      assert.equal((failed.last as mqttPacket.IDisconnectPacket).reasonCode, 0x87);
    } finally {
      socket.destroy();
    }
  });

  it("warden's client: SCRAM at connect and on reauthenticate(), and warden pub --scram", async () => {
    const client = await connect(url, { authentication: scramSha256('sam', 'sam-pw'), reconnect: false });
    try {
      assert.equal(client.connack?.properties?.authenticationMethod, METHOD);
      await client.reauthenticate();
      await client.subscribe('scram/t', { qos: 1 });
      await client.publish('scram/t', 'still connected', { qos: 1 });
      assert.equal(
        (await within(client.messages().next(), 5000, 'message')).value?.payload.toString(),
        'still connected',
      );
    } finally {
      await client.end();
    }
    await assert.rejects(connect(url, { authentication: scramSha256('sam', 'wrong'), reconnect: false }), {
      code: 'ERR_CONNACK_REFUSED',
      reasonCode: 0x87,
    });
    const cli = await runWarden(
      'pub',
      '-L',
      url,
      '--scram',
      '-u',
      'sam',
      '-P',
      'sam-pw',
      '-t',
      'scram/cli',
      '-m',
      'x',
    );
    assert.equal(cli.code, 0, cli.stderr);
  });

  it("warden's client refuses a broker that accepts without proving it knows the password", async () => {
    // An impostor: it plays SCRAM's first step, then says "success" with a made-up signature.
    const impostor = await createBroker(
      { listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0 },
      pino({ level: 'silent' }),
      {
        enhancedAuth: [
          {
            method: METHOD,
            start(request) {
              const nonce = /r=([^,]+)/.exec(request.data?.toString() ?? '')?.[1] ?? '';
              return {
                kind: 'continue',
                data: Buffer.from(`r=${nonce}xyz,s=${randomBytes(16).toString('base64')},i=4096`),
                next: () => ({
                  kind: 'success',
                  username: 'sam',
                  data: Buffer.from(`v=${randomBytes(32).toString('base64')}`),
                }),
              };
            },
          },
        ],
      },
    );
    try {
      await assert.rejects(
        connect(`mqtt://127.0.0.1:${impostor.listeners[0]!.port}`, {
          authentication: scramSha256('sam', 'sam-pw'),
          reconnect: false,
        }),
        (e: unknown) => {
          assert.ok(e instanceof ClientError);
          assert.equal(e.code, 'ERR_AUTH_FAILED');
          assert.match(e.message, /did not prove it knows the password/);
          return true;
        },
      );
    } finally {
      await impostor.close();
    }
  });
});
