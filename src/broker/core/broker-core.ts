// The broker's shared state: sessions by client id, the router, retained messages. Transport
// neutral: connections reach it through the handlers, sockets never do.

import type { QoS } from '../../protocol/index.js';
import { topicMatches } from '../../protocol/index.js';
import type { Message } from './message.js';
import type { Clock, Logger } from './ports.js';
import { Router } from './router.js';
import { Session, type SessionOwner } from './session.js';

export interface CoreOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** A fresh, unique client identifier for clients that send an empty one. */
  readonly newClientId: () => string;
  /** Milliseconds a new connection has to send CONNECT. */
  readonly connectTimeoutMs: number;
  /** Highest QoS granted to subscriptions. */
  readonly maxQos: QoS;
}

export class BrokerCore {
  readonly options: CoreOptions;
  readonly sessions = new Map<string, Session>();
  readonly router = new Router();
  readonly retained = new Map<string, Message>();
  readonly owners = new Set<SessionOwner & { shutdown(): void }>();

  constructor(options: CoreOptions) {
    this.options = options;
  }

  /**
   * Binds a session to a newly connected owner, taking it over from any older connection
   * [MQTT-3.1.4-3]. A clean start discards what the session held [MQTT-3.1.2-4].
   */
  openSession(clientId: string, clean: boolean, owner: SessionOwner): { session: Session; present: boolean } {
    const existing = this.sessions.get(clientId);
    if (existing?.owner !== undefined && existing.owner !== owner) existing.owner.takeover();
    if (existing !== undefined && !clean) {
      existing.owner = owner;
      return { session: existing, present: true };
    }
    if (existing !== undefined) this.endSession(existing);
    const session = new Session(clientId);
    session.owner = owner;
    this.sessions.set(clientId, session);
    return { session, present: false };
  }

  endSession(session: Session): void {
    this.router.unsubscribeAll(session);
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
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

  /** Retained messages matching a filter, for a new subscription [MQTT-3.3.1-10]. */
  retainedMatching(filter: string): Message[] {
    const found: Message[] = [];
    for (const message of this.retained.values())
      if (topicMatches(filter, message.topic)) found.push(message);
    return found;
  }

  /** Disconnects every client (v5: DISCONNECT 0x8B server shutting down). */
  shutdown(): void {
    for (const owner of [...this.owners]) owner.shutdown();
  }
}
