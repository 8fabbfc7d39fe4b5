// A logger that adds a connection's fields (remote address, client id) to each line it writes.
// Not a pino child: a child serializes its bindings when it is made, a cost every connection
// would pay even when nothing is logged; here the fields cost something only on a line written.

import type { Logger } from './ports.js';

export class BoundLogger implements Logger {
  constructor(
    private readonly base: Logger,
    private readonly fields: object,
  ) {}

  // A connection logs a line as it connects and as it goes: under `log_type error` these cost
  // nothing, not a merged object each.
  debug(fields: object, message: string): void {
    if (this.base.isLevelEnabled?.('debug') === false) return;
    this.base.debug({ ...this.fields, ...fields }, message);
  }

  info(fields: object, message: string): void {
    if (this.base.isLevelEnabled?.('info') === false) return;
    this.base.info({ ...this.fields, ...fields }, message);
  }

  warn(fields: object, message: string): void {
    this.base.warn({ ...this.fields, ...fields }, message);
  }

  error(fields: object, message: string): void {
    this.base.error({ ...this.fields, ...fields }, message);
  }

  isLevelEnabled(level: 'debug' | 'info' | 'warn' | 'error'): boolean {
    return this.base.isLevelEnabled?.(level) ?? true;
  }

  child(bindings: object): Logger {
    return new BoundLogger(this.base, { ...this.fields, ...bindings });
  }
}
