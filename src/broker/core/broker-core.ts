// The broker's shared state: sessions by client id, the router, retained messages. Transport
// neutral: connections reach it through the handlers, sockets never do.

import type { QoS } from '../../protocol/index.js';
import { topicMatches } from '../../protocol/index.js';
import { newBrokerStats } from './broker-stats.js';
import { type Message, withExpiry } from './message.js';
import type { Clock, Logger } from './ports.js';
import { Router } from './router.js';
import { NEVER_EXPIRES, Session, type SessionOwner } from './session.js';
import type { BrokerStores, RetainedStore, SessionStore } from './store-ports.js';

export interface CoreOptions {
  readonly clock: Clock;
  readonly stores: BrokerStores;
  readonly logger: Logger;
  /** A fresh, unique client identifier for clients that send an empty one. */
  readonly newClientId: () => string;
  /** Milliseconds a new connection has to send CONNECT. */
  readonly connectTimeoutMs: number;
  /** Highest QoS granted to subscriptions. */
  readonly maxQos: QoS;
  /** Our Receive Maximum: QoS 2 messages a client may have awaiting PUBREL; more gets DISCONNECT 0x93. */
  readonly receiveMaximum: number;
  /** Our cap on unacknowledged QoS 1/2 messages sent to one client (Mosquitto's max_inflight_messages). */
  readonly maxInflight: number;
  /** Topic aliases a v5 client may use towards us (Mosquitto's max_topic_alias). */
  readonly topicAliasMaximum: number;
  /** Longest keep alive allowed, seconds: v5 clients are told it, longer v3 requests are refused. */
  readonly maxKeepAlive: number;
  /** Largest packet we accept, announced to v5 clients; 0 when unlimited. */
  readonly maxPacketSize: number;
  /** QoS 1/2 messages kept per session while its client is away or slow (Mosquitto's max_queued_messages). */
  readonly maxQueuedMessages: number;
  /** Whether retained messages are kept; when not, v5 clients are told and a retained PUBLISH is refused. */
  readonly retainAvailable: boolean;
  /** Most levels a topic name or filter may have (Mosquitto's hierarchy limit is 200). */
  readonly maxTopicLevels: number;
}

/** The defaults, as Mosquitto's where it has the same setting. */
export const coreDefaults = {
  connectTimeoutMs: 10_000,
  maxQos: 2,
  receiveMaximum: 65_535,
  maxInflight: 20,
  topicAliasMaximum: 10,
  maxKeepAlive: 65_535,
  maxPacketSize: 0,
  maxQueuedMessages: 1000,
  retainAvailable: true,
  maxTopicLevels: 200,
} as const satisfies Partial<CoreOptions>;

export class BrokerCore {
  readonly options: CoreOptions;
  readonly sessions: SessionStore;
  readonly stats = newBrokerStats();
  readonly router = new Router(this.stats);
  readonly retained: RetainedStore;
  readonly owners = new Set<SessionOwner & { shutdown(): void }>();

  constructor(options: CoreOptions) {
    this.options = options;
    this.sessions = options.stores.sessions;
    this.retained = options.stores.retained;
  }

  /**
   * Binds a session to a newly connected owner, taking it over from any older connection
   * [MQTT-3.1.4-3]. A clean start discards what the session held [MQTT-3.1.2-4].
   */
  openSession(clientId: string, clean: boolean, owner: SessionOwner): { session: Session; present: boolean } {
    const existing = this.sessions.get(clientId);
    if (existing?.owner !== undefined && existing.owner !== owner) existing.owner.takeover();
    if (existing !== undefined && !clean && this.sessions.get(clientId) === existing) {
      // The client came back within the Will Delay Interval: no will [MQTT-3.1.3-9].
      existing.stopTimers();
      existing.owner = owner;
      return { session: existing, present: true };
    }
    if (existing !== undefined) this.endSession(existing);
    const session = new Session(clientId, this.options.maxQueuedMessages);
    session.owner = owner;
    this.sessions.set(clientId, session);
    return { session, present: false };
  }

  /** Ends a session: a will still waiting for its delay is published now [MQTT-3.1.3-9]. */
  endSession(session: Session): void {
    const will = session.stopTimers();
    this.router.unsubscribeAll(session);
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    if (will) this.publishWill(will);
  }

  /**
   * The session's connection is gone. `will` is set when it closed abnormally: published now, or
   * after its Will Delay Interval, or when the session ends, whichever comes first.
   */
  sessionDisconnected(session: Session, will: Message | undefined): void {
    session.owner = undefined;
    if (will) {
      const delay = will.properties?.willDelayInterval ?? 0;
      if (delay === 0 || session.expiryInterval === 0) {
        this.publishWill(will);
      } else {
        const timer = this.options.clock.setTimeout(() => {
          session.pendingWill = undefined;
          this.publishWill(will);
        }, delay * 1000);
        session.pendingWill = { message: will, timer };
      }
    }
    if (session.expiryInterval === 0) {
      this.endSession(session);
    } else if (session.expiryInterval !== NEVER_EXPIRES) {
      session.expiryTimer = this.options.clock.setTimeout(
        () => this.endSession(session),
        session.expiryInterval * 1000,
      );
    }
  }

  publishWill(will: Message): void {
    const { willDelayInterval: _delay, ...properties } = will.properties ?? {};
    const message = { ...will, properties: Object.keys(properties).length > 0 ? properties : undefined };
    this.publish(withExpiry(message, this.options.clock.now()), undefined);
  }

  /** Stores or clears a retained message, then routes the message to subscribers. */
  publish(message: Message, origin: Session | undefined): number {
    if (message.retain) {
      // An empty retained payload deletes [MQTT-3.3.1-6]. A stored payload is copied so it does
      // not pin the whole socket chunk it was sliced from.
      if (message.payload.length === 0) this.retained.delete(message.topic);
      else this.retained.set(message.topic, { ...message, payload: Buffer.from(message.payload) });
    }
    return this.router.publish(message, origin);
  }

  /** Retained messages matching a filter, for a new subscription [MQTT-3.3.1-10]; expired ones are dropped. */
  retainedMatching(filter: string): Message[] {
    const found: Message[] = [];
    const now = this.options.clock.now();
    for (const message of this.retained.values()) {
      if (message.expiresAt !== undefined && message.expiresAt <= now) {
        this.retained.delete(message.topic);
        continue;
      }
      if (topicMatches(filter, message.topic)) found.push(message);
    }
    return found;
  }

  /** Disconnects every client (v5: DISCONNECT 0x8B server shutting down). */
  shutdown(): void {
    for (const owner of [...this.owners]) owner.shutdown();
  }
}
