// `warden broker --workers N`: N cluster nodes in one command, sharing the listening ports
// (node:cluster hands each new connection to the next worker), so that one host's cores all
// carry clients. Each worker is a whole node (its own event loop, the cluster's Redis between
// them): node id "<id>-<n>", admin port + n - 1. A worker that dies is started again.

import cluster from 'node:cluster';

const WORKER = 'WARDEN_WORKER';

/** In a worker started by runWorkers: its number (1..N). */
export function workerNumber(): number | undefined {
  const n = Number(process.env[WORKER]);
  return cluster.isWorker && n > 0 ? n : undefined;
}

/**
 * Starts the workers one after another (the first one makes the development CA the others
 * reuse), restarts one that exits unless the primary is stopping, and stops them all on SIGINT
 * or SIGTERM; SIGHUP is passed on (reload).
 */
export function runWorkers(count: number): void {
  let stopping = false;
  const start = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const worker = cluster.fork({ [WORKER]: String(n) });
      console.error(`warden broker: worker ${n} started (pid ${worker.process.pid})`);
      worker.on('message', (message) => {
        if (message === 'ready') resolve();
      });
      worker.on('exit', (code, signal) => {
        resolve();
        if (stopping) return;
        console.error(`warden broker: worker ${n} exited (${signal ?? code}); starting it again`);
        setTimeout(() => void start(n), 1000);
      });
    });
  void (async () => {
    for (let n = 1; n <= count; n++) await start(n);
  })();
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    for (const w of workers) w?.process.kill(signal);
    let left = workers.length;
    if (left === 0) process.exit(0);
    for (const w of workers)
      w?.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
  });
}

/** A worker tells its primary that it listens. */
export function tellReady(): void {
  if (workerNumber() !== undefined) process.send?.('ready');
}
