// A real redis-server for the cluster tests: on a free loopback port, nothing saved to disk,
// stopped by the test (and killed with the test process if it is not).

import { freePort } from '../../bench/bench-process.js';
import { type Started, start } from './processes.js';

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  readonly process: Started;
  stop(): Promise<void>;
}

export async function startRedis(port?: number): Promise<RunningRedis> {
  const chosen = port ?? (await freePort());
  const redis = start('redis-server', [
    '--port',
    String(chosen),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
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
