// The loads `warden bench` puts on a broker, as MQTTX's bench does: `conn` opens clients and holds
// them, `pub` publishes from each client at a rate, `sub` subscribes each client and counts what
// arrives. Every client is one connection of our own client library, so the TLS, PSK and
// authentication options are those of `warden pub`. What a run measures is its latency: the time
// to CONNACK (conn), to the acknowledgement (pub at QoS 1/2), or from the publisher's stamp in the
// payload to arrival (sub, when the payload comes from `warden bench pub` and is 12 bytes or more).

import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectOptions, connect, type MqttClient, type ReceivedMessage } from '../client/index.js';

export type BenchMode = 'conn' | 'pub' | 'sub';

export interface BenchPlan {
  readonly mode: BenchMode;
  readonly url: string;
  /** Options for every client; each gets `clientIdPrefix-<index>` as its id. */
  readonly options: ConnectOptions;
  readonly clientIdPrefix: string;
  readonly clients: number;
  /** conn: connections per second in all (0: all at once); pub: messages per second per client. */
  readonly rate: number;
  readonly qos: 0 | 1 | 2;
  /** pub: payload bytes. */
  readonly size: number;
  /** `%i` is replaced by the client's index. */
  readonly topic: string;
  /** How long the load runs once every client is connected (and subscribed). */
  readonly durationMs: number;
  /** Told when the clients are connected (and subscribed) and the load begins. */
  readonly onLoadStart?: (connected: number) => void;
}

export interface BenchCounters {
  connected: number;
  sent: number;
  received: number;
  errors: number;
}

export interface Percentiles {
  readonly samples: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface BenchResult extends BenchCounters {
  readonly mode: BenchMode;
  readonly clients: number;
  /** Clients connected at the start of the load and no longer at its end. */
  readonly disconnected: number;
  /** Seconds the load ran (conn: from the first attempt until all had an answer). */
  readonly seconds: number;
  /** conn: connections per second; pub: sent per second; sub: received per second. */
  readonly rate: number;
  /** Milliseconds. */
  readonly latency: Percentiles | undefined;
  readonly firstError: string | undefined;
}

/** Marks a payload as stamped by `warden bench pub`: "WBNC", then the send time (f64, ms). */
const STAMP = 0x57424e43;
const STAMP_BYTES = 12;
const wallClock = () => performance.timeOrigin + performance.now();
const TICK_MS = 10;

export function percentiles(samples: number[]): Percentiles | undefined {
  if (samples.length === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
  return {
    samples: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
  };
}

export class BenchRun {
  readonly counters: BenchCounters = { connected: 0, sent: 0, received: 0, errors: 0 };
  readonly #plan: BenchPlan;
  readonly #latencies: number[] = [];
  /** The connected clients, each with its topic (`%i` replaced by the index its client id has). */
  readonly #clients: Array<{ readonly client: MqttClient; readonly topic: string }> = [];
  #firstError: string | undefined;
  #stopped = false;

  constructor(plan: BenchPlan) {
    this.#plan = plan;
  }

  /** Ends the load early (Ctrl-C): the result covers what ran. */
  stop(): void {
    this.#stopped = true;
  }

  async run(): Promise<BenchResult> {
    const plan = this.#plan;
    const started = performance.now();
    await this.#connectAll();
    const connectedAt = performance.now();
    const atStart = this.#clients.filter(({ client }) => client.connected);
    if (plan.mode === 'sub') await this.#subscribeAll();
    plan.onLoadStart?.(this.counters.connected);
    const loadStarted = performance.now();
    if (plan.mode === 'pub') await this.#publish(loadStarted + plan.durationMs);
    else await this.#hold(loadStarted + plan.durationMs);
    const ended = performance.now();
    const disconnected = atStart.filter(({ client }) => !client.connected).length;
    await Promise.all(
      this.#clients.map(({ client }) => client.end({ timeoutMs: 1000 }).catch(() => undefined)),
    );
    const seconds = plan.mode === 'conn' ? (connectedAt - started) / 1000 : (ended - loadStarted) / 1000;
    const done =
      plan.mode === 'conn'
        ? this.counters.connected
        : plan.mode === 'pub'
          ? this.counters.sent
          : this.counters.received;
    return {
      mode: plan.mode,
      clients: plan.clients,
      ...this.counters,
      disconnected,
      seconds,
      rate: seconds > 0 ? done / seconds : 0,
      latency: percentiles(this.#latencies),
      firstError: this.#firstError,
    };
  }

  #error(error: unknown): void {
    this.counters.errors++;
    this.#firstError ??= (error as Error).message ?? String(error);
  }

  /** Every client, paced at `rate` per second for conn (0: all at once), each timed to its CONNACK. */
  async #connectAll(): Promise<void> {
    const plan = this.#plan;
    const pace = plan.mode === 'conn' && plan.rate > 0 ? 1000 / plan.rate : 0;
    const first = performance.now();
    const attempts: Promise<void>[] = [];
    for (let i = 0; i < plan.clients && !this.#stopped; i++) {
      // In steps of at most a second: a tiny rate must not overflow a timer, and Ctrl-C stops it.
      const due = first + i * pace;
      while (!this.#stopped && performance.now() < due) await sleep(Math.min(1000, due - performance.now()));
      if (this.#stopped) break;
      const begun = performance.now();
      const options = { ...plan.options, clientId: `${plan.clientIdPrefix}-${i}`, reconnect: false as const };
      attempts.push(
        connect(plan.url, options).then(
          (client) => {
            this.counters.connected++;
            if (plan.mode === 'conn') this.#latencies.push(performance.now() - begun);
            this.#clients.push({ client, topic: plan.topic.replaceAll('%i', String(i)) });
          },
          (error) => this.#error(error),
        ),
      );
    }
    await Promise.all(attempts);
  }

  async #subscribeAll(): Promise<void> {
    const plan = this.#plan;
    await Promise.all(
      this.#clients.map(async ({ client, topic }) => {
        client.on('message', (m: ReceivedMessage) => this.#received(m));
        try {
          await client.subscribe(topic, { qos: plan.qos });
        } catch (error) {
          this.#error(error);
        }
      }),
    );
  }

  #received(message: ReceivedMessage): void {
    this.counters.received++;
    const p = message.payload;
    if (p.length >= STAMP_BYTES && p.readUInt32BE(0) === STAMP)
      this.#latencies.push(wallClock() - p.readDoubleBE(4));
  }

  /** Each client at `rate` messages per second until `until`, from one ticker for all of them. */
  async #publish(until: number): Promise<void> {
    const plan = this.#plan;
    let owed = 0;
    let last = performance.now();
    while (!this.#stopped && performance.now() < until) {
      await sleep(TICK_MS);
      const now = performance.now();
      owed += ((now - last) * plan.rate) / 1000;
      last = now;
      for (; owed >= 1; owed--)
        for (const { client, topic } of this.#clients) this.#publishOne(client, topic);
    }
  }

  #publishOne(client: MqttClient, topic: string): void {
    const plan = this.#plan;
    const payload = Buffer.alloc(plan.size, 0x61);
    if (plan.size >= STAMP_BYTES) {
      payload.writeUInt32BE(STAMP, 0);
      payload.writeDoubleBE(wallClock(), 4);
    }
    const begun = performance.now();
    this.counters.sent++;
    client.publish(topic, payload, { qos: plan.qos }).then(
      () => {
        if (plan.qos > 0) this.#latencies.push(performance.now() - begun);
      },
      (error) => this.#error(error),
    );
  }

  async #hold(until: number): Promise<void> {
    while (!this.#stopped && performance.now() < until) await sleep(Math.min(100, until - performance.now()));
  }
}
