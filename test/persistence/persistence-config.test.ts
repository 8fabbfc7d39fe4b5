// Where state is kept, as each configuration says it: our schema persists by default under the
// data directory; a mosquitto.conf persists only with `persistence true`, as Mosquitto does, and
// its persistence_location / persistence_file / autosave_* lines are read.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBroker, type Logger, loadConfigFile } from '../../src/broker/index.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-persistence-config-'));
const listeners = [{ protocol: 'mqtt' as const, host: '127.0.0.1', port: 0 }];

/** A logger that keeps every line's message, for the notes the broker writes at start. */
function recordingLogger(lines: string[]): Logger {
  const log = (_fields: object, message: string) => void lines.push(message);
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

async function conf(name: string, text: string) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return loadConfigFile(path);
}

describe('persistence configuration', () => {
  it('our schema: the embedded store under dataDir unless told otherwise', async () => {
    const dataDir = join(dir, 'data');
    const broker = await createBroker({ listeners, dataDir, sysInterval: 0, logLevel: 'silent' });
    try {
      assert.equal(broker.store.durable, true);
      assert.equal(broker.store.location, join(dataDir, 'warden.mdb'));
    } finally {
      await broker.close();
    }
    const memory = await createBroker({ listeners, persistence: { enabled: false }, logLevel: 'silent' });
    assert.equal(memory.store.location, 'memory');
    await memory.close();
  });

  it('a mosquitto.conf without `persistence true` keeps nothing on disk, as Mosquitto', async () => {
    const config = await conf('plain.conf', 'listener 0 127.0.0.1\nallow_anonymous true\n');
    assert.equal(config.persistence.enabled, false);
  });

  it("Debian's persistence lines: location, file and autosave read; autosave noted in the log", async () => {
    const location = join(dir, 'var-lib-mosquitto');
    const config = await conf(
      'debian.conf',
      [
        'persistence true',
        `persistence_location ${location}/`,
        'persistence_file warden-state.db',
        'autosave_interval 1800',
        'autosave_on_changes false',
        'listener 0 127.0.0.1',
        'allow_anonymous true',
        'sys_interval 0',
      ].join('\n'),
    );
    assert.deepEqual(config.persistence, {
      enabled: true,
      dir: location,
      file: 'warden-state.db',
      autosave: true,
    });
    const lines: string[] = [];
    const broker = await createBroker(config, recordingLogger(lines));
    try {
      assert.equal(broker.store.location, join(location, 'warden-state.db'));
      assert.ok(
        lines.some((l) =>
          /autosave_interval .* no effect: every change is committed before it is acknowledged/.test(l),
        ),
        lines.join('\n'),
      );
    } finally {
      await broker.close();
    }
  });

  it('names the line of a bad persistence value', async () => {
    await assert.rejects(
      conf('bad.conf', 'persistence maybe\n'),
      /bad\.conf:1: persistence: "maybe" is not true or false/,
    );
    await assert.rejects(
      conf('bad-file.conf', 'persistence true\npersistence_file sub/dir.db\n'),
      /bad-file\.conf:2.*a file name, without a directory/,
    );
  });
});
