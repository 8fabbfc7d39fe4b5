// Refusals logged once per source, not once per connection: a scanner or a flood from one address
// writes one line per reason, then, once per window (a minute by default), how many more it caused. The counts by
// reason (stats, metrics) stay exact; only the log is thinned.

import type { Logger } from '../core/ports.js';

/** Sources remembered per window; past it every new source shares one summary line. */
const MAX_SOURCES = 10_000;
const WINDOW_MS = 60_000;

export class RefusalLog {
  readonly #logger: Logger;
  /** source + reason -> refusals not logged since the first. */
  #seen = new Map<string, { source: string; reason: string; more: number }>();
  #overflow = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(logger: Logger, windowMs = WINDOW_MS) {
    this.#logger = logger;
    this.#timer = setInterval(() => this.flush(), windowMs);
    this.#timer.unref();
  }

  /** The first refusal of this source for this reason is logged; the others are counted. */
  refused(source: string, reason: string, fields: object, message: string): void {
    const key = `${source}\u0000${reason}`;
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      seen.more++;
      return;
    }
    if (this.#seen.size >= MAX_SOURCES) {
      this.#overflow++;
      return;
    }
    this.#seen.set(key, { source, reason, more: 0 });
    this.#logger.warn(fields, message);
  }

  /** Says what was not logged, and starts a new window (every source's next refusal is logged again). */
  flush(): void {
    for (const { source, reason, more } of this.#seen.values())
      if (more > 0)
        this.#logger.warn(
          { source, reason, more },
          'refused again from the same source (not logged one by one)',
        );
    if (this.#overflow > 0)
      this.#logger.warn(
        { more: this.#overflow, sources: `over ${MAX_SOURCES}` },
        'refused from further sources (not logged one by one)',
      );
    this.#seen = new Map();
    this.#overflow = 0;
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}

/** The address of "address:port" (IPv6 too), the source a refusal is logged under. */
export function sourceOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon > 0 ? remote.slice(0, colon) : remote;
}
