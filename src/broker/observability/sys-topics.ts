// $SYS/broker/... topics with Mosquitto's names, published retained every sys_interval seconds.
// As in Mosquitto, a value goes out only when it changed since the last round; static values
// (version) once. Runs on the core's clock so tests can step it.

import type { BrokerCore } from '../core/broker-core.js';
import { messagesDropped } from '../core/broker-stats.js';
import type { Timer } from '../core/ports.js';

export interface SysTopicsOptions {
  /** Seconds between rounds; 0 publishes nothing. */
  readonly intervalSeconds: number;
  /** e.g. "warden version 0.1.0" */
  readonly version: string;
  /** Process memory in use, bytes ($SYS/broker/heap/current); injected so the core stays pure. */
  readonly heapBytes: () => number;
  /** Values from outside the core (the listeners' certificates), topic and value, each round. */
  readonly more?: () => Iterable<readonly [string, string]>;
}

/** The current value of every $SYS topic, by topic. */
export function sysValues(core: BrokerCore, startedAt: number, heapBytes: () => number): Map<string, string> {
  const s = core.stats;
  let total = 0;
  let disconnected = 0;
  let subscriptions = 0;
  let stored = 0;
  let storedBytes = 0;
  for (const session of core.sessions.values()) {
    total++;
    if (session.owner === undefined) disconnected++;
    subscriptions += session.subscriptionCount;
    stored += session.queue.length + session.outboundCount;
  }
  for (const message of core.retained.values()) storedBytes += message.payload.length;
  stored += core.retained.size;
  const uptime = Math.floor((core.options.clock.now() - startedAt) / 1000);
  return new Map<string, string>([
    ['$SYS/broker/uptime', `${uptime} seconds`],
    ['$SYS/broker/clients/connected', String(s.clientsConnected)],
    ['$SYS/broker/clients/active', String(s.clientsConnected)],
    ['$SYS/broker/clients/disconnected', String(disconnected)],
    ['$SYS/broker/clients/inactive', String(disconnected)],
    ['$SYS/broker/clients/total', String(total)],
    ['$SYS/broker/clients/maximum', String(s.clientsMaximum)],
    ['$SYS/broker/messages/received', String(s.packetsReceived)],
    ['$SYS/broker/messages/sent', String(s.packetsSent)],
    ['$SYS/broker/messages/stored', String(stored)],
    ['$SYS/broker/store/messages/count', String(stored)],
    ['$SYS/broker/store/messages/bytes', String(storedBytes)],
    ['$SYS/broker/publish/messages/received', String(s.publishReceived)],
    ['$SYS/broker/publish/messages/sent', String(s.publishSent)],
    ['$SYS/broker/publish/messages/dropped', String(messagesDropped(s))],
    ['$SYS/broker/bytes/received', String(s.bytesReceived)],
    ['$SYS/broker/bytes/sent', String(s.bytesSent)],
    ['$SYS/broker/subscriptions/count', String(subscriptions)],
    ['$SYS/broker/retained messages/count', String(core.retained.size)],
    ['$SYS/broker/heap/current', String(heapBytes())],
  ]);
}

/** Starts the rounds; returns a stop function. */
export function startSysTopics(core: BrokerCore, options: SysTopicsOptions): () => void {
  if (options.intervalSeconds <= 0) return () => undefined;
  const clock = core.options.clock;
  const startedAt = clock.now();
  const last = new Map<string, string>();
  let timer: Timer | undefined;
  const publish = (topic: string, value: string) =>
    core.publish({ topic, payload: Buffer.from(value), qos: 0, retain: true }, undefined);

  publish('$SYS/broker/version', options.version);
  const round = () => {
    const values = sysValues(core, startedAt, options.heapBytes);
    for (const [topic, value] of options.more?.() ?? []) values.set(topic, value);
    for (const [topic, value] of values) {
      if (last.get(topic) === value) continue;
      last.set(topic, value);
      publish(topic, value);
    }
    timer = clock.setTimeout(round, options.intervalSeconds * 1000);
  };
  round();
  return () => timer?.cancel();
}
