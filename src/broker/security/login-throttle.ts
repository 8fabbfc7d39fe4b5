// Failed logins slow down per client address: each failure in a row doubles the delay before the
// refusal is answered, up to a bound; a success or a quiet spell forgets the address. The table
// is bounded, so a flood of addresses cannot grow it without limit.

export interface LoginThrottleOptions {
  /** Delay after the first failure; 0 turns the throttle off. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** An address with no failure for this long starts again from the base delay. */
  readonly forgetAfterMs: number;
  readonly maxAddresses: number;
}

export const loginThrottleDefaults: LoginThrottleOptions = {
  baseDelayMs: 250,
  maxDelayMs: 5000,
  forgetAfterMs: 10 * 60_000,
  maxAddresses: 10_000,
};

export class LoginThrottle {
  readonly #failures = new Map<string, { count: number; last: number }>();

  constructor(
    private readonly options: LoginThrottleOptions = loginThrottleDefaults,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a failure from `address` ("host:port" or host) and returns the delay to answer it after. */
  failed(address: string): number {
    if (this.options.baseDelayMs === 0) return 0;
    const host = hostOf(address);
    const now = this.now();
    const seen = this.#failures.get(host);
    const count = seen && now - seen.last < this.options.forgetAfterMs ? seen.count + 1 : 1;
    this.#failures.delete(host); // re-inserted last: the Map's order is least recently failed first
    this.#failures.set(host, { count, last: now });
    if (this.#failures.size > this.options.maxAddresses) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(count - 1, 20));
  }

  succeeded(address: string): void {
    // Every accepted login comes here: nothing to parse while no address has failed.
    if (this.#failures.size > 0) this.#failures.delete(hostOf(address));
  }
}

/** The host part of "host:port", "[v6]:port" or a bare address. */
function hostOf(address: string): string {
  const bracket = /^\[([^\]]+)\]/.exec(address);
  if (bracket) return bracket[1]!;
  const colons = address.split(':').length - 1;
  return colons === 1 ? address.slice(0, address.indexOf(':')) : address;
}
