// A real redis-server for the cluster tests: on a free loopback port, nothing saved to disk unless asked,
// stopped by the test (and killed with the test process if it is not).

import { freePort } from '../../bench/bench-process.js';
import { type Started, start } from './processes.js';

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  readonly process: Started;
  stop(): Promise<void>;
}

/**
 * `durableIn`: Redis keeps an append-only file there, fsynced before every reply
 * (appendfsync always), so that a restart (even after SIGKILL) loses nothing it acknowledged.
 */
export async function startRedis(port?: number, durableIn?: string): Promise<RunningRedis> {
  const chosen = port ?? (await freePort());
  const persistence =
    durableIn === undefined
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', durableIn];
  const redis = start('redis-server', [
    '--port',
    String(chosen),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    ...persistence,
  ]);
  await redis.waitFor(/Ready to accept connections/, 10_000);
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    process: redis,
    stop: async () => {
      await redis.stop();
    },
  };
}
