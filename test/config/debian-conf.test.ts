// Debian's stock /etc/mosquitto/mosquitto.conf, as a Mosquitto user types it first, with its paths
// moved to a temporary directory: pid_file, persistence, persistence_location, log_dest file and
// include_dir (with a listener in conf.d) all work; `warden broker -c` serves mosquitto's clients.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigFile } from '../../src/broker/index.js';
import { run, start, WARDEN } from '../support/processes.js';

const STOCK = '/etc/mosquitto/mosquitto.conf';
const dir = mkdtempSync(join(tmpdir(), 'warden-debian-conf-'));
chmodSync(dir, 0o755);

/** The stock file with /run, /var/lib, /var/log and /etc paths under `root`, plus conf.d files. */
function debianTree(root: string, confD: Record<string, string>): string {
  const stock = readFileSync(STOCK, 'utf8');
  assert.match(stock, /include_dir \/etc\/mosquitto\/conf\.d/, 'Debian stock mosquitto.conf');
  for (const sub of ['run', 'lib', 'log', 'conf.d']) mkdirSync(join(root, sub), { recursive: true });
  const moved = stock
    .replaceAll('/run/mosquitto/', `${root}/run/`)
    .replaceAll('/var/lib/mosquitto/', `${root}/lib/`)
    .replaceAll('/var/log/mosquitto/', `${root}/log/`)
    .replaceAll('/etc/mosquitto/conf.d', `${root}/conf.d`);
  writeFileSync(
    join(root, 'conf.d', 'README'),
    'Any files placed in this directory with a .conf ending are included.\n',
  );
  for (const [name, text] of Object.entries(confD)) writeFileSync(join(root, 'conf.d', name), text);
  const conf = join(root, 'mosquitto.conf');
  writeFileSync(conf, moved);
  return conf;
}

describe("Debian's stock mosquitto.conf", () => {
  it('starts and serves: pid file, store, log file, and the listener in conf.d', async () => {
    const root = join(dir, 'serve');
    const conf = debianTree(root, {
      '10-listener.conf': 'listener 0 127.0.0.1\nallow_anonymous true\n',
      '20-limits.conf': 'max_queued_messages 5\nsys_interval 0\n',
    });
    const broker = start('node', [...WARDEN, 'broker', '-c', conf]);
    try {
      const [, port] = await broker.waitFor(/listening on mqtt:\/\/127\.0\.0\.1:(\d+)/, 20_000);
      await broker.waitFor(new RegExp(`store ${root}/lib/warden\\.mdb: recovered`));
      assert.equal(readFileSync(join(root, 'run', 'mosquitto.pid'), 'utf8'), `${broker.process.pid}\n`);
      const at = ['-h', '127.0.0.1', '-p', port!, '-t', 'deb/t'];
      const sub = start('mosquitto_sub', [...at, '-C', '1', '-W', '10']);
      const pub = await run('mosquitto_pub', [...at, '-m', 'stock', '-r', '-q', '1']);
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal((await sub.done(10_000)).stdout.trim(), 'stock');
      const log = readFileSync(join(root, 'log', 'mosquitto.log'), 'utf8');
      assert.match(log, /"msg":"listening"/, 'log_dest file gets the log');
    } finally {
      await broker.stop();
    }
    assert.equal(existsSync(join(root, 'run', 'mosquitto.pid')), false, 'pid file removed at exit');
  });

  it('include_dir: .conf files in sorted order, other files left alone; problems name the included file:line', async () => {
    const root = join(dir, 'order');
    const conf = debianTree(root, {
      'b.conf': 'max_queued_messages 7\n',
      'a.conf': 'listener 1883 127.0.0.1\nmax_queued_messages 5\n',
    });
    const config = await loadConfigFile(conf);
    assert.equal(config.maxQueuedMessages, 7, 'b.conf is read after a.conf');
    assert.deepEqual(config.persistence, { enabled: true, dir: join(root, 'lib'), file: 'warden.mdb' });
    assert.equal(config.pidFile, join(root, 'run', 'mosquitto.pid'));
    assert.deepEqual(config.logDest, [{ file: join(root, 'log', 'mosquitto.log') }]);
    writeFileSync(join(root, 'conf.d', 'c.conf'), '# third\nallow_anonymus true\n');
    await assert.rejects(loadConfigFile(conf), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`${root}/conf\\.d/c\\.conf:2: unknown directive "allow_anonymus"`),
      );
      return true;
    });
  });

  it('log_dest: several destinations; syslog and topic are accepted with a note saying what warden does', async () => {
    const root = join(dir, 'log-dest');
    mkdirSync(root, { recursive: true });
    const conf = join(root, 'm.conf');
    writeFileSync(conf, 'listener 1883\nlog_dest stdout\nlog_dest syslog\nlog_dest topic\n');
    const config = await loadConfigFile(conf);
    assert.deepEqual(config.logDest, ['stdout', 'stderr']);
    assert.equal(config.notes.length, 2);
    assert.match(
      config.notes[0]!,
      /m\.conf:3: log_dest syslog: warden does not write to syslog; it logs to stderr instead/,
    );
    writeFileSync(conf, 'listener 1883\nlog_dest carrier-pigeon\n');
    await assert.rejects(
      loadConfigFile(conf),
      /m\.conf:2: log_dest: "carrier-pigeon" is not a log destination/,
    );
  });

  it('user: started as root, runs as that user once its listeners are bound', async (t) => {
    if (process.getuid?.() !== 0) {
      // Without root there is nothing to drop; say so rather than pass silently.
      t.diagnostic('not root: user has no effect, as with mosquitto');
      const root = join(dir, 'user');
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'u.conf'), 'listener 1883\nuser nobody\n');
      assert.equal((await loadConfigFile(join(root, 'u.conf'))).user, 'nobody');
      return;
    }
    const root = join(dir, 'user');
    mkdirSync(root, { recursive: true });
    const conf = join(root, 'u.conf');
    writeFileSync(conf, `listener 0 127.0.0.1\nallow_anonymous true\nuser nobody\nsys_interval 0\n`);
    const broker = start('node', [...WARDEN, 'broker', '-c', conf]);
    try {
      await broker.waitFor(/running as user nobody/, 20_000);
      const status = readFileSync(`/proc/${broker.process.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    } finally {
      await broker.stop();
    }
  });
});
