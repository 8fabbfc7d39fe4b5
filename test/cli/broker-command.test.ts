// `warden broker` as a user runs it: a real process, served to mosquitto clients, stopped by SIGTERM.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run, runWarden, start, WARDEN } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));

describe('warden broker', () => {
  it('quick start: mqtts from a development CA; mosquitto_sub --cafile gets what mosquitto_pub sent', async () => {
    const dataDir = join(dir, 'data');
    const quickStart = ['broker', '-p', '0', '--ws-port', '0', '--tls-port', '0', '--data-dir', dataDir];
    const broker = start('node', [...WARDEN, ...quickStart]);
    try {
      const [, port] = await broker.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/);
      const [, tlsPort] = await broker.waitFor(/listening on mqtts:\/\/127\.0\.0\.1:(\d+)/);
      const [, caFile] = await broker.waitFor(/TLS certificate from the development CA (\S+) \(new\)/);
      // It persists by default, in the data directory, and says so.
      await broker.waitFor(new RegExp(`store ${dataDir}/warden\\.mdb: recovered 0 session\\(s\\)`));
      await broker.waitFor(
        new RegExp(`try: mosquitto_sub --cafile \\S+ -h localhost -p ${tlsPort} -t '#' -v`),
      );
      const host = ['-h', '127.0.0.1', '-p', port!];
      const tls = ['-h', 'localhost', '-p', tlsPort!, '--cafile', caFile!];
      const sub = start('mosquitto_sub', [...tls, '-t', 'cli/test', '-C', '1', '-W', '10', '-V', '5']);
      await broker.waitFor(/"msg":"client connected"/);
      // Retained, so the message reaches the subscriber whether or not its SUBSCRIBE came first.
      const pub = await run('mosquitto_pub', [
        ...host,
        '-t',
        'cli/test',
        '-m',
        'hello from the cli',
        '-r',
        '-q',
        '1',
      ]);
      assert.equal(pub.code, 0, pub.stderr);
      const received = await sub.done(10_000);
      assert.equal(received.stdout.trim(), 'hello from the cli', received.stderr);
    } finally {
      const stopped = await broker.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /SIGTERM, shutting down/);
    }
    // A second start reuses the development CA: clients keep trusting the same file.
    const again = start('node', [...WARDEN, ...quickStart]);
    try {
      await again.waitFor(/TLS certificate from the development CA \S+ca\.crt\n/);
      again.process.kill('SIGHUP');
      await again.waitFor(/SIGHUP reload mqtts:\/\/127\.0\.0\.1:\d+: ok, 0 revoked/);
    } finally {
      await again.stop();
    }
  });

  it('-c mosquitto.conf: serves the listener it names, with its limits and $SYS', async () => {
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      ['listener 0 127.0.0.1', 'allow_anonymous true', 'max_keepalive 30', 'sys_interval 1', ''].join('\n'),
    );
    const broker = start('node', [...WARDEN, 'broker', '-c', conf]);
    try {
      const [, port] = await broker.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/);
      const host = ['-h', '127.0.0.1', '-p', port!];
      const version = await run('mosquitto_sub', [
        ...host,
        '-k',
        '20',
        '-t',
        '$SYS/broker/version',
        '-C',
        '1',
        '-W',
        '10',
      ]);
      assert.match(version.stdout, /^warden version \d+\.\d+\.\d+/);
      // max_keepalive 30: a v3.1.1 client asking for 60 s is refused, as Mosquitto does.
      const refused = await run('mosquitto_sub', [...host, '-t', 'x', '-k', '60', '-C', '1', '-W', '5']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /identifier rejected/i);
    } finally {
      const stopped = await broker.stop();
      assert.doesNotMatch(stopped.stderr, /ws:\/\//, 'only the listeners of the file');
    }
  });

  it('-c with password_file and acl_file: users and rules in force, new users live after SIGHUP', async () => {
    const passwd = join(dir, 'passwd');
    const acl = join(dir, 'acl');
    assert.equal((await runWarden('passwd', '-c', '-b', passwd, 'alice', 'a-pw')).code, 0);
    writeFileSync(acl, 'user alice\ntopic readwrite room/#\nuser bob\ntopic read room/#\n');
    const conf = join(dir, 'secured.conf');
    writeFileSync(
      conf,
      ['listener 0 127.0.0.1', `password_file ${passwd}`, `acl_file ${acl}`, ''].join('\n'),
    );
    const broker = start('node', [...WARDEN, 'broker', '-c', conf]);
    try {
      const [, port] = await broker.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/);
      const pub = (user: string, pw: string, topic: string) =>
        run('mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          port!,
          '-u',
          user,
          '-P',
          pw,
          '-t',
          topic,
          '-m',
          'x',
          '-V',
          'mqttv5',
          '-q',
          '1',
        ]);
      assert.equal((await pub('alice', 'a-pw', 'room/1')).code, 0);
      const anonymous = await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        port!,
        '-t',
        'room/1',
        '-m',
        'x',
      ]);
      assert.notEqual(anonymous.code, 0, 'no anonymous clients once a password file is set');
      assert.notEqual((await pub('bob', 'b-pw', 'room/1')).code, 0, 'bob is not in the file yet');

      assert.equal((await runWarden('passwd', '-b', passwd, 'bob', 'b-pw')).code, 0);
      broker.process.kill('SIGHUP');
      await broker.waitFor(new RegExp(`SIGHUP reload ${passwd}: ok`));
      const bobWrites = await pub('bob', 'b-pw', 'room/1');
      assert.match(bobWrites.stderr + bobWrites.stdout, /not authori[sz]ed/i, 'bob may only read room/#');
      const bobReads = start('stdbuf', [
        ...['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', port!, '-u', 'bob', '-P', 'b-pw'],
        ...['-t', 'room/#', '-C', '1', '-v', '-d'],
      ]);
      await bobReads.waitFor(/Subscribed \(mid: \d+\): 0/);
      assert.equal((await pub('alice', 'a-pw', 'room/2')).code, 0);
      assert.match((await bobReads.done(5000)).stdout, /^room\/2 x$/m);
    } finally {
      await broker.stop();
    }
  });

  it('-c with a bad file: exit 1 and every problem with file:line', async () => {
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, 'listener 1883\nallow_anonymus true\nmax_inflight_messages many\n');
    const result = await run('node', [...WARDEN, 'broker', '-c', conf]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${conf}:2: unknown directive "allow_anonymus"`));
    assert.match(result.stderr, new RegExp(`${conf}:3: max_inflight_messages: "many" is not a whole number`));
    assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });

  it('-p alone serves that listener only, as mosquitto -p: no TLS or WebSocket listener it did not ask for', async () => {
    const broker = start('node', [...WARDEN, 'broker', '-p', '0', '--data-dir', join(dir, 'p-only')]);
    try {
      await broker.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:\d+/);
      // The store line comes after every listening line.
      const [printed] = await broker.waitFor(/[\s\S]*warden broker: store /);
      assert.doesNotMatch(printed, /listening on (mqtts|ws):/);
    } finally {
      await broker.stop();
    }
  });

  it('loads the packages of a feature only when it is configured (ioredis, prom-client, ws, @peculiar/x509)', async () => {
    // Asked with SIGUSR2, the broker process prints the packages in its module cache (these
    // four are CommonJS, so an import of them lands there too).
    const probe = join(dir, 'loaded-packages.mjs');
    writeFileSync(
      probe,
      [
        "import { createRequire } from 'node:module';",
        'const cache = createRequire(import.meta.url).cache;',
        "process.on('SIGUSR2', () => {",
        '  const names = Object.keys(cache).map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(k)?.[1]);',
        "  process.stderr.write('loaded packages: ' + [...new Set(names.filter(Boolean))].sort().join(' ') + '\\n');",
        '});',
        '',
      ].join('\n'),
    );
    const loaded = async (args: string[], ready: RegExp) => {
      const broker = start('node', ['--import', probe, ...WARDEN, 'broker', ...args]);
      try {
        await broker.waitFor(ready);
        broker.process.kill('SIGUSR2');
        const [, names] = await broker.waitFor(/loaded packages: (.*)\n/);
        return new Set(names!.split(' '));
      } finally {
        await broker.stop();
      }
    };
    const features = ['ioredis', 'prom-client', 'ws', '@peculiar/x509'];
    const dataDir = join(dir, 'lazy');
    const plain = await loaded(['-p', '0', '--data-dir', dataDir], /warden broker: store /);
    assert.ok(plain.has('pino'), `the probe reads the cache: ${[...plain].join(' ')}`);
    assert.deepEqual(
      features.filter((f) => plain.has(f)),
      [],
    );
    // Each feature on: its package is there (the first TLS start makes the development CA).
    const all = ['-p', '0', '--tls-port', '0', '--ws-port', '0', '--admin-port', '0', '--data-dir', dataDir];
    const everything = await loaded(all, /admin on http/);
    assert.deepEqual(
      features.filter((f) => !everything.has(f)),
      ['ioredis'],
    );
    // A later TLS start reuses the development CA's files, without the certificate-making code.
    const reused = await loaded(
      ['-p', '0', '--tls-port', '0', '--data-dir', dataDir],
      /warden broker: store /,
    );
    assert.equal(reused.has('@peculiar/x509'), false);
  });

  it('--admin-port and --admin-token-file: the admin listener, its URL printed, the token asked for', async () => {
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, 'cli-admin-token\n');
    const broker = start('node', [
      ...[...WARDEN, 'broker', '-p', '0', '--no-persistence'],
      ...['--admin-port', '0', '--admin-token-file', tokenFile],
    ]);
    try {
      const [, url] = await broker.waitFor(/admin on (http:\/\/127\.0\.0\.1:\d+): dashboard at \//);
      assert.equal((await fetch(`${url}/healthz`)).status, 401);
      const ok = await fetch(`${url}/healthz`, { headers: { authorization: 'Bearer cli-admin-token' } });
      assert.deepEqual(await ok.json(), { status: 'ok' });
    } finally {
      await broker.stop();
    }
  });

  it('logs readable lines on a terminal (util-linux script gives it one) and JSON into a pipe', async () => {
    const command = ['node', ...WARDEN, 'broker', '-p', '0', '--no-persistence']
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
      .join(' ');
    const onTerminal = start('script', ['-qec', command, '/dev/null']);
    try {
      await onTerminal.waitFor(/INFO.*: .*listening/, 15_000);
    } finally {
      const printed = await onTerminal.stop();
      assert.doesNotMatch(printed.stdout, /\{"level":/);
    }
    const piped = start('node', [...WARDEN, 'broker', '-p', '0', '--no-persistence']);
    try {
      await piped.waitFor(/\{"level":30,.*"msg":"listening"\}/, 15_000);
    } finally {
      await piped.stop();
    }
  });

  it('--test-config: the configuration in effect, where each setting came from, warnings; exit 0 or 1', async () => {
    const good = join(dir, 'test-config.conf');
    writeFileSync(
      good,
      'listener 1884 127.0.0.1\nallow_anonymous true\nmax_inflight_bytes 10\nmax_inflight_messages 5\n',
    );
    const ok = await runWarden('broker', '--test-config', '-c', good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ {4}port: 1884$/m);
    assert.match(ok.stdout, /^maxInflight: 5$/m);
    assert.match(ok.stdout, /^receiveMaximum: 5$/m);
    assert.match(ok.stdout, new RegExp(`#   maxInflight: ${good}:4`));
    assert.match(ok.stderr, /warning: .*test-config\.conf:3: max_inflight_bytes has no effect/);
    assert.match(ok.stderr, /configuration OK/);
    const bad = join(dir, 'test-config-bad.conf');
    writeFileSync(bad, 'listener 1884\nallow_anonymus true\n');
    const refused = await runWarden('broker', '--test-config', '-c', bad);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /test-config-bad\.conf:2: unknown directive "allow_anonymus"/);
  });

  it('refuses a bad port with a message naming it', async () => {
    const result = await run('node', [...WARDEN, 'broker', '-p', 'eighty']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /"eighty" is not a port/);
  });

  it('names the listener when its port is taken', async () => {
    const first = start('node', [
      ...WARDEN,
      'broker',
      '-p',
      '0',
      '--ws-port',
      '0',
      '--no-tls',
      '--no-persistence',
    ]);
    try {
      const [, port] = await first.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/);
      const second = await run('node', [
        ...[...WARDEN, 'broker', '-p', port!, '--ws-port', '0', '--no-tls', '--no-persistence'],
      ]);
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, new RegExp(`listener mqtt://127.0.0.1:${port}: EADDRINUSE`));
    } finally {
      await first.stop();
    }
  });
});
