// Password authentication against real peers: a file made by Debian's mosquitto_passwd ($7$ and
// $6$) used as is, users added by `warden passwd` picked up on reload, refusals with the right
// code on v5 and 3.1.1 from MQTT.js and mosquitto_pub, anonymous refused once a password file is
// set, and failed logins answered later and later from the same address, and counted.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { run, runWarden } from '../support/processes.js';
import { startTestBroker } from '../support/test-broker.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-passwd-'));
const passwordFile = join(dir, 'passwords');
let broker: Broker;
let port: number;
let url: string;

before(async () => {
  // Made by mosquitto's own tool: alice with its default (PBKDF2-SHA512, $7$), bob with -H sha512 ($6$).
  assert.equal((await run('mosquitto_passwd', ['-c', '-b', passwordFile, 'alice', 'alice-pw'])).code, 0);
  assert.equal(
    (await run('mosquitto_passwd', ['-H', 'sha512', '-b', passwordFile, 'bob', 'bob-pw'])).code,
    0,
  );
  const text = readFileSync(passwordFile, 'utf8');
  assert.match(text, /^alice:\$7\$/m);
  assert.match(text, /^bob:\$6\$/m);
  ({ broker, port, url } = await startTestBroker({
    allowAnonymous: false,
    passwordFile,
    failedLoginDelay: { baseMs: 0, maxMs: 0 },
  }));
});
after(() => broker.close());

/** Connects with MQTT.js; resolves with the CONNACK code (0 when accepted). */
async function connackCode(
  options: { username?: string; password?: string; protocolVersion: 4 | 5 },
  at = url,
) {
  try {
    const client = await mqtt.connectAsync(at, { ...options, reconnectPeriod: 0, connectTimeout: 5000 });
    await client.endAsync();
    return 0;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

describe('password file', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`mosquitto_passwd's hashes work as they are; wrong ones are refused (protocol level ${protocolVersion})`, async () => {
      assert.equal(await connackCode({ username: 'alice', password: 'alice-pw', protocolVersion }), 0);
      assert.equal(await connackCode({ username: 'bob', password: 'bob-pw', protocolVersion }), 0);
      const bad = protocolVersion === 5 ? 0x86 : 4;
      assert.equal(await connackCode({ username: 'alice', password: 'bob-pw', protocolVersion }), bad);
      assert.equal(await connackCode({ username: 'nobody', password: 'x', protocolVersion }), bad);
      assert.equal(await connackCode({ username: 'alice', protocolVersion }), bad);
      // No user name at all: anonymous, refused once a credential source is configured.
      assert.equal(await connackCode({ protocolVersion }), protocolVersion === 5 ? 0x87 : 5);
    });
  }

  it('mosquitto_pub with a right and a wrong password', async () => {
    const pub = (password: string) =>
      run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-u',
        'alice',
        '-P',
        password,
        '-t',
        'a/b',
        '-m',
        'x',
      ]);
    assert.equal((await pub('alice-pw')).code, 0);
    const refused = await pub('wrong');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not authori[sz]ed|bad user name or password/i);
  });

  it('a user added by warden passwd logs in after a reload; the file keeps the mosquitto hashes', async () => {
    const added = await runWarden('passwd', '-b', passwordFile, 'carol', 'carol-pw');
    assert.equal(added.code, 0, added.stderr);
    assert.match(readFileSync(passwordFile, 'utf8'), /^carol:\$scrypt\$ln=15,r=8,p=1\$/m);
    const [reloaded] = await broker.reloadSecurity();
    assert.equal(reloaded?.ok, true, reloaded?.error);
    assert.equal(await connackCode({ username: 'carol', password: 'carol-pw', protocolVersion: 5 }), 0);
    assert.equal(await connackCode({ username: 'alice', password: 'alice-pw', protocolVersion: 5 }), 0);
    const deleted = await runWarden('passwd', '-D', passwordFile, 'carol');
    assert.equal(deleted.code, 0, deleted.stderr);
    await broker.reloadSecurity();
    assert.equal(await connackCode({ username: 'carol', password: 'carol-pw', protocolVersion: 5 }), 0x86);
  });

  it('a change to the file is picked up on its own, though warden passwd renames a new file over it', async () => {
    assert.equal((await runWarden('passwd', '-b', passwordFile, 'dora', 'dora-pw')).code, 0);
    const deadline = Date.now() + 5000;
    let code = await connackCode({ username: 'dora', password: 'dora-pw', protocolVersion: 5 });
    while (code !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      code = await connackCode({ username: 'dora', password: 'dora-pw', protocolVersion: 5 });
    }
    assert.equal(code, 0, 'dora logs in without a SIGHUP or reloadSecurity()');
    assert.equal((await runWarden('passwd', '-D', passwordFile, 'dora')).code, 0);
  });

  it('a damaged file on reload keeps the old users and names the line', async () => {
    const original = readFileSync(passwordFile, 'utf8');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(passwordFile, `${original}mallory:plaintext\n`);
    try {
      const [result] = await broker.reloadSecurity();
      assert.equal(result?.ok, false);
      assert.match(result?.error ?? '', /passwords:3: user mallory: not a known hash/);
      assert.doesNotMatch(result?.error ?? '', /plaintext/, 'the secret is not repeated');
      assert.equal(await connackCode({ username: 'alice', password: 'alice-pw', protocolVersion: 5 }), 0);
    } finally {
      writeFileSync(passwordFile, original);
      await broker.reloadSecurity();
    }
  });

  it('failed logins from one address are answered later each time, and counted', async () => {
    const slow = await startTestBroker({
      allowAnonymous: false,
      passwordFile,
      failedLoginDelay: { baseMs: 150, maxMs: 2000 },
    });
    try {
      const elapsed: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        assert.equal(
          await connackCode({ username: 'alice', password: 'guess', protocolVersion: 5 }, slow.url),
          0x86,
        );
        elapsed.push(Date.now() - started);
      }
      // 150, 300, 600 ms at least: a lower bound only, which a loaded machine cannot break.
      assert.ok(
        elapsed[0]! >= 140 && elapsed[1]! >= 290 && elapsed[2]! >= 590,
        `answered after ${elapsed} ms`,
      );
      assert.equal(slow.broker.core.stats.loginFailures, 3);
      // A success forgets the address: the next failure is back at the base delay (no upper bound asserted).
      assert.equal(
        await connackCode({ username: 'alice', password: 'alice-pw', protocolVersion: 5 }, slow.url),
        0,
      );
    } finally {
      await slow.broker.close();
    }
  });
});

describe('warden passwd', () => {
  it('refuses what mosquitto_passwd refuses, with the reason', async () => {
    const file = join(dir, 'other');
    const cases: [string[], RegExp][] = [
      [['passwd', file, 'x'], /no such file \(create it with -c\)/],
      [['passwd', '-c', '-b', file, 'a:b', 'pw'], /may not hold ":"/],
      [['passwd', '-c', file, 'a', 'pw'], /a password on the command line needs -b/],
      [['passwd', '-c', '-D', file, 'a'], /-c and -D do not go together/],
    ];
    for (const [args, message] of cases) {
      const result = await runWarden(...args);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, message);
    }
  });
});
