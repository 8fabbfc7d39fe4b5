// Running real peer programs (mosquitto_pub/sub, openssl, our CLI) with every wait bounded and
// every process stopped at the end.

import { type ChildProcess, spawn } from 'node:child_process';

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs a program to its end, killing it after timeoutMs. */
export function run(
  command: string,
  args: readonly string[],
  timeoutMs = 10_000,
  input?: string,
  env?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  const child = start(command, args, env);
  if (input !== undefined) child.process.stdin?.end(input);
  return child.done(timeoutMs);
}

export interface Started {
  readonly process: ChildProcess;
  /** Resolves once stdout+stderr contain a match, or rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Waits for the end (killing after timeoutMs) and returns what it printed. */
  done(timeoutMs?: number): Promise<RunResult>;
  stop(): Promise<RunResult>;
}

/** `env`: added to this process's environment. */
export function start(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(env && { env: { ...process.env, ...env } }),
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const l of listeners) l();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<RunResult>((resolve, reject) => {
    child.on('error', (error) => reject(new Error(`${command}: ${error.message}`)));
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const done = async (timeoutMs = 10_000) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    process: child,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = (stdout + stderr).match(pattern);
          if (match) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `${command} did not print ${pattern} within ${timeoutMs} ms; printed:\n${stdout}${stderr}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
        void exited.then(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`${command} exited without printing ${pattern}; printed:\n${stdout}${stderr}`));
          }
        });
      });
    },
    done,
    stop() {
      child.kill('SIGTERM');
      return done(5000);
    },
  };
}

/** node's arguments that run the warden CLI from source (tsx compiles it on the way). */
export const WARDEN: readonly string[] = ['--import', 'tsx', 'src/cli/main.ts'];

/** Runs `warden <args>` to its end, within 20 s: tsx compiles the CLI at every start. */
export function runWarden(...args: string[]): Promise<RunResult> {
  return run('node', [...WARDEN, ...args], 20_000);
}

/** Rejects when a promise takes longer than ms. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `done()` holds (checked every 20 ms), or rejects after ms naming `what`. */
export function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const check = () => (done() ? resolve() : setTimeout(check, 20));
      check();
    }),
    ms,
    what,
  );
}
