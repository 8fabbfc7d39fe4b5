// The broker's shared state: sessions by client id, the router, retained messages. Transport
// neutral: connections reach it through the handlers, sockets never do.

import {
  type ProtocolVersion,
  parseSharedSubscription,
  type QoS,
  withProperties,
} from '../../protocol/index.js';
import { newBrokerStats } from './broker-stats.js';
import type { ClusterPort } from './cluster-ports.js';
import { DurableSessions } from './durable-sessions.js';
import { GroupCommit } from './group-commit.js';
import type { ListenerPolicy } from './listener-policy.js';
import { type Message, withExpiry } from './message.js';
import type { Clock, Logger, PacketChannel } from './ports.js';
import { RetainedIndex } from './retained-index.js';
import { Router, type SharedPicker } from './router.js';
import { Scheduler } from './scheduler.js';
import { NEVER_EXPIRES, Session, type SessionOwner, type SubscriptionOptions } from './session.js';
import { sharedGroupKey } from './shared-group.js';
import type { Store } from './store-ports.js';

export interface CoreOptions {
  readonly clock: Clock;
  /** Where persistent sessions and retained messages are kept (memory, or the embedded store). */
  readonly store: Store;
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
  /** Payload bytes kept per session's queue (Mosquitto's max_queued_bytes); 0: no limit. */
  readonly maxQueuedBytes: number;
  /** Subscriptions one session may hold; 0: no limit. Beyond it SUBACK says 0x97 (v5) / 0x80. */
  readonly maxSubscriptionsPerClient: number;
  /** Retained messages the broker holds, and their topics and payloads in bytes; 0: no limit. */
  readonly maxRetainedMessages: number;
  readonly maxRetainedBytes: number;
  /** Whether retained messages are kept; when not, v5 clients are told and a retained PUBLISH is refused. */
  readonly retainAvailable: boolean;
  /** Most levels a topic name or filter may have (Mosquitto allows 200 separators: 201 levels). */
  readonly maxTopicLevels: number;
  /** false: an empty client id is refused instead of assigned one (Mosquitto's allow_zero_length_clientid). */
  readonly allowZeroLengthClientId: boolean;
  /**
   * Longest a disconnected session is kept, seconds; 0: as long as its client asked (a 3.1.1
   * persistent session: for ever). Mosquitto's persistent_client_expiration.
   */
  readonly maxSessionExpiry: number;
  /** QoS 0 messages are queued for disconnected persistent sessions too (Mosquitto's queue_qos0_messages). */
  readonly queueQos0Messages: boolean;
  /**
   * A retained message is sent to a new subscriber only while its publisher may still publish
   * to its topic (Mosquitto's check_retain_source).
   */
  readonly checkRetainSource: boolean;
  /** What a wrong password or unknown user is told: 0x04 / 0x86, or 0x05 / 0x87 as mosquitto. */
  readonly refusedLoginCode: 'badUserNameOrPassword' | 'notAuthorized';
  /** Told how long each store transaction took, seconds (metrics); absent: not measured. */
  readonly observeCommit?: (seconds: number) => void;
  /**
   * One node of a cluster: what is published here goes to the cluster's log and is routed when it
   * comes back from it (on every node); sessions are claimed from the cluster before they open.
   */
  readonly cluster?: ClusterPort;
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
  maxQueuedBytes: 64 * 1024 * 1024,
  maxSubscriptionsPerClient: 10_000,
  maxRetainedMessages: 1_000_000,
  maxRetainedBytes: 1024 * 1024 * 1024,
  retainAvailable: true,
  maxTopicLevels: 201,
  allowZeroLengthClientId: true,
  maxSessionExpiry: 0,
  queueQos0Messages: false,
  checkRetainSource: true,
  refusedLoginCode: 'badUserNameOrPassword',
} as const satisfies Partial<CoreOptions>;

/**
 * Who published a retained message, for check_retain_source (no undefined field: the store keeps
 * records as written). A message from the cluster's log carries it already.
 */
function withSource(message: Message, origin: Session | undefined): Message {
  if (!message.retain || origin === undefined) return message;
  const source = {
    clientId: origin.clientId,
    ...(origin.username !== undefined && { username: origin.username }),
  };
  return { ...message, source };
}

/** A connection as the broker lists it (the admin API): who it is, how it came, what it holds. */
export interface ClientConnection extends SessionOwner {
  shutdown(): void;
  /** v5: DISCONNECT with the reason code, then close; v3: close. */
  disconnect(reasonCode: number, reason: string): void;
  readonly connected: boolean;
  readonly currentSession: Session | undefined;
  readonly username: string | undefined;
  readonly connectedAt: number | undefined;
  readonly keepAlive: number | undefined;
  readonly version: ProtocolVersion;
  readonly channel: PacketChannel;
  readonly listener: ListenerPolicy;
}

export interface SessionTerms {
  /** Seconds the session outlives the connection; above 0 the session is persistent. */
  readonly expiryInterval: number;
  readonly username: string | undefined;
  readonly will: Message | undefined;
}

export class BrokerCore {
  readonly options: CoreOptions;
  readonly sessions = new Map<string, Session>();
  readonly stats = newBrokerStats();
  readonly router = new Router(this.stats);
  readonly retained = new RetainedIndex();
  /** Every connection, from its first byte to its close. */
  readonly owners = new Set<ClientConnection>();
  readonly scheduler: Scheduler;
  /** One store transaction per event-loop turn; acknowledgements wait for theirs. */
  readonly commits: GroupCommit;
  readonly durable: DurableSessions;

  constructor(options: CoreOptions) {
    this.options = options;
    this.scheduler = new Scheduler(options.clock);
    this.commits = new GroupCommit(options.store, options.logger, this.stats, options.observeCommit);
    this.durable = new DurableSessions(this.commits);
  }

  /**
   * Binds a session to a newly connected owner, taking it over from any older connection
   * [MQTT-3.1.4-3]. A clean start discards what the session held [MQTT-3.1.2-4].
   */
  openSession(
    clientId: string,
    clean: boolean,
    owner: SessionOwner,
    terms: SessionTerms,
  ): { session: Session; present: boolean } {
    const existing = this.sessions.get(clientId);
    if (existing?.owner !== undefined && existing.owner !== owner) {
      existing.handedOver = true; // to the new connection: the client id stays this node's
      existing.owner.takeover();
    }
    let session: Session;
    const present = existing !== undefined && !clean && this.sessions.get(clientId) === existing;
    if (present) {
      // The client came back within the Will Delay Interval: no will [MQTT-3.1.3-9].
      session = existing;
      session.handedOver = false;
      session.stopTimers();
    } else {
      if (existing !== undefined) this.endSession(existing);
      session = new Session(clientId, this.options);
      this.sessions.set(clientId, session);
    }
    session.owner = owner;
    session.expiryInterval = terms.expiryInterval;
    session.username = terms.username;
    session.will = terms.will;
    if (terms.expiryInterval === 0) this.durable.forget(session);
    else if (session.journal === undefined) this.durable.attach(session);
    else this.durable.save(session);
    if (terms.expiryInterval === 0 && terms.will !== undefined && this.options.cluster) {
      // So that another node publishes the will if this one dies with the connection.
      this.durable.save(session);
      session.willRecorded = true;
    }
    return { session, present };
  }

  subscribe(session: Session, filter: string, options: SubscriptionOptions): boolean {
    const isNew = this.router.subscribe(session, filter, options);
    if (session.journal !== undefined) this.durable.save(session);
    if (isNew) this.#shareChanged(session, filter, true);
    return isNew;
  }

  unsubscribe(session: Session, filter: string): boolean {
    const existed = this.router.unsubscribe(session, filter);
    if (existed && session.journal !== undefined) this.durable.save(session);
    if (existed) this.#shareChanged(session, filter, false);
    return existed;
  }

  /** In a cluster, every node counts the members of every shared group. */
  #shareChanged(session: Session, filter: string, member: boolean): void {
    if (this.options.cluster === undefined) return;
    const shared = parseSharedSubscription(filter);
    if (!shared) return;
    this.commits.write({ kind: 'share', group: sharedGroupKey(shared), clientId: session.clientId, member });
  }

  /** Ends a session: a will still waiting for its delay is published now [MQTT-3.1.3-9]. */
  endSession(session: Session): void {
    const will = session.stopTimers();
    if (this.options.cluster !== undefined && session.subscriptionCount > 0)
      for (const filter of session.subscriptions.keys()) this.#shareChanged(session, filter, false);
    this.router.unsubscribeAll(session);
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    this.durable.forget(session);
    if (will) this.publishWill(will);
  }

  /**
   * A session ended for good (its connection or its expiry ended it, not a newer connection): in
   * a cluster, no node owns its client id any more.
   */
  #sessionGone(session: Session): void {
    this.endSession(session);
    const clientId = session.clientId;
    if (session.willRecorded) this.commits.write({ kind: 'session', clientId, record: undefined });
    if (this.options.cluster && !session.handedOver) this.commits.write({ kind: 'disown', clientId });
  }

  /**
   * Another node takes the session (the cluster): its connection here is taken over (its will
   * published, as for any takeover [MQTT-3.1.4-3]), and the session leaves this node as stored,
   * its records kept for the new owner, which also takes over a will still waiting its delay.
   */
  handOver(clientId: string, toToken: string): void {
    const session = this.sessions.get(clientId);
    if (session !== undefined) this.forgetHere(session);
    this.commits.write({ kind: 'handover', clientId, to: toToken });
  }

  /**
   * Drops a session from this node only: its connection is taken over (what that writes of the
   * session, it writes first), and then nothing of it is written or deleted here.
   */
  forgetHere(session: Session): void {
    session.handedOver = true;
    session.owner?.takeover();
    if (this.sessions.get(session.clientId) !== session) return;
    session.stopTimers();
    this.router.unsubscribeAll(session);
    this.sessions.delete(session.clientId);
    session.journal = undefined;
  }

  /**
   * The session's connection is gone. `will` is set when it closed abnormally: published now, or
   * after its Will Delay Interval, or when the session ends, whichever comes first.
   */
  sessionDisconnected(session: Session, will: Message | undefined): void {
    session.owner = undefined;
    session.will = undefined;
    const now = this.options.clock.now();
    if (will) {
      const delay = will.properties?.willDelayInterval ?? 0;
      if (delay === 0 || session.expiryInterval === 0) this.publishWill(will);
      else this.holdWill(session, will, now + delay * 1000);
    }
    if (session.expiryInterval === 0) {
      this.#sessionGone(session);
      return;
    }
    if (session.expiryInterval !== NEVER_EXPIRES) this.expireAt(session, now + session.expiryInterval * 1000);
    if (session.journal !== undefined) this.durable.save(session);
  }

  /** The session ends at `deadline` unless its client comes back (absolute: survives a restart). */
  expireAt(session: Session, deadline: number): void {
    session.expiresAt = deadline;
    if (deadline <= this.options.clock.now()) this.#sessionGone(session);
    else session.expiryTimer = this.scheduler.at(deadline, () => this.#sessionGone(session));
  }

  /**
   * A will waits out its delay: published at `at` (at once when that has passed, as after a
   * restart) unless the client comes back first.
   */
  holdWill(session: Session, will: Message, at: number): void {
    if (at <= this.options.clock.now()) {
      this.publishWill(will);
      return;
    }
    const timer = this.scheduler.at(at, () => {
      session.pendingWill = undefined;
      this.publishWill(will);
      if (session.journal !== undefined) this.durable.save(session);
    });
    session.pendingWill = { message: will, at, timer };
  }

  publishWill(will: Message): void {
    const properties = withProperties(will.properties, { willDelayInterval: undefined });
    const message = { ...will, properties: Object.keys(properties).length > 0 ? properties : undefined };
    this.publish(withExpiry(message, this.options.clock.now()), undefined);
  }

  /**
   * Stores or clears a retained message, then routes the message to subscribers. In a cluster
   * the message goes to the cluster's log instead and is routed when it comes back ($SYS
   * excepted: each node has its own); how many it reached is not known here then (-1).
   */
  publish(message: Message, origin: Session | undefined): number {
    const cluster = this.options.cluster;
    if (cluster === undefined || message.topic.startsWith('$SYS/'))
      return this.#publishHere(message, origin, true);
    if (!cluster.up && message.qos === 0) return this.#publishHere(message, origin, false);
    if (message.retain) this.#retain(message, origin, true);
    this.commits.write({ kind: 'forward', message: withSource(message, origin), origin: origin?.clientId });
    return -1;
  }

  /**
   * A message from the cluster's log: retained (in memory: its publisher's node stored it) and
   * routed here. Its own node sets the retained message again, so every node ends in log order.
   */
  routeFromLog(message: Message, originClientId: string | undefined, entryId: string): void {
    const origin = originClientId === undefined ? undefined : this.sessions.get(originClientId);
    if (message.retain) this.#retain(message, origin, false);
    const routed = this.router.publish(message, origin, undefined, this.sharedPicker(entryId));
    if (routed === 0) this.stats.messagesNoSubscribers++;
  }

  /** Who of a shared group gets the log entry: the cluster's choice, when it is a member here. */
  sharedPicker(entryId: string): SharedPicker | undefined {
    const cluster = this.options.cluster;
    if (cluster === undefined) return undefined;
    return (group) => {
      const chosen = cluster.chooseShared(group.key, entryId);
      return chosen === undefined ? undefined : group.member(chosen);
    };
  }

  #publishHere(message: Message, origin: Session | undefined, durable: boolean): number {
    if (message.retain) this.#retain(message, origin, durable);
    const deliveries = this.router.publish(message, origin);
    if (deliveries === 0) this.stats.messagesNoSubscribers++;
    return deliveries;
  }

  /** An empty retained payload deletes [MQTT-3.3.1-6]. */
  #retain(message: Message, origin: Session | undefined, durable: boolean): void {
    if (message.payload.length === 0) {
      if (this.retained.delete(message.topic) && durable) this.durable.retained(message.topic, undefined);
      return;
    }
    // A stored payload is copied so it does not pin the whole socket chunk it was sliced from.
    const kept = { ...withSource(message, origin), payload: Buffer.from(message.payload) };
    this.retained.set(message.topic, kept);
    if (durable) this.durable.retained(message.topic, kept);
  }

  /**
   * Whether retaining `payloadBytes` at `topic` would pass maxRetainedMessages or
   * maxRetainedBytes (replacing a topic's message counts only the difference; deleting is
   * always allowed).
   */
  retainedFull(topic: string, payloadBytes: number): boolean {
    if (payloadBytes === 0) return false;
    const { maxRetainedMessages, maxRetainedBytes } = this.options;
    const retained = this.retained;
    // Room even if the topic were new: no need to look it up (the common case).
    if (
      (maxRetainedMessages === 0 || retained.size < maxRetainedMessages) &&
      (maxRetainedBytes === 0 || retained.bytes + topic.length + payloadBytes <= maxRetainedBytes)
    )
      return false;
    const held = retained.sizeOf(topic);
    if (held === 0 && maxRetainedMessages > 0 && retained.size >= maxRetainedMessages) return true;
    return maxRetainedBytes > 0 && retained.bytes - held + topic.length + payloadBytes > maxRetainedBytes;
  }

  /** Clears a topic's retained message (the admin API); false when there was none. */
  clearRetained(topic: string): boolean {
    if (!this.retained.delete(topic)) return false;
    this.durable.retained(topic, undefined);
    return true;
  }

  /** Retained messages matching a filter, for a new subscription [MQTT-3.3.1-10]; expired ones are dropped. */
  retainedMatching(filter: string): Message[] {
    const matched = this.retained.match(filter);
    // Most subscriptions match nothing retained: no clock read, no filtered copy.
    if (matched.length === 0) return matched;
    const now = this.options.clock.now();
    return matched.filter((message) => {
      if (message.expiresAt === undefined || message.expiresAt > now) return true;
      this.retained.delete(message.topic);
      this.durable.retained(message.topic, undefined);
      return false;
    });
  }

  /** Disconnects every client (v5: DISCONNECT 0x8B server shutting down). */
  shutdown(): void {
    for (const owner of [...this.owners]) owner.shutdown();
  }
}
