// What every broker benchmark needs around the process under test: arguments, a free port,
// starting it pinned to core 0 and waiting until it answers, its CPU and RSS from /proc, stopping it.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1]!;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishers waiting for the subscriber to catch up: `wait` parks one, `wakeAll` lets them all go. */
export function waitList(): { wait(): Promise<boolean>; wakeAll(): void } {
  let waiters: Array<() => void> = [];
  return {
    wait: () => new Promise<boolean>((resolve) => waiters.push(() => resolve(true))),
    wakeAll() {
      const woken = waiters;
      waiters = [];
      for (const w of woken) w();
    },
  };
}

const TICK_MS = 1000 / 100; // /proc CPU times are in 1/100 s (getconf CLK_TCK)
const PAGE = 4096; // getconf PAGESIZE

/** utime + stime of a process, milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

export function rssBytes(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

/** Runs `command` pinned to a core (0 unless told) and resolves once `probe` succeeds (10 s at most). */
export async function startPinned(
  name: string,
  command: string[],
  probe: () => Promise<void>,
  core = 0,
): Promise<ChildProcess> {
  const child = spawn('taskset', ['-c', String(core), ...command], {
    // BENCH_STDOUT=1 shows what the server prints (node's --trace-gc, say).
    stdio: ['ignore', process.env.BENCH_STDOUT ? 'inherit' : 'ignore', 'inherit'],
  });
  for (let tries = 0; tries < 100; tries++) {
    try {
      await probe();
      return child;
    } catch {
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5000)]);
  child.kill('SIGKILL');
}
