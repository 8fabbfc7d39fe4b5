// A store that cannot be used: names the file and the reason, so the broker stops with a line a
// person can act on (a path to fix or move away), never a stack trace.

export class StoreError extends Error {
  readonly code = 'ERR_STORE';
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`store ${path}: ${reason}`);
    this.name = 'StoreError';
    this.path = path;
  }
}
