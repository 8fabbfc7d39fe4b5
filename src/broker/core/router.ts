// Fan-out of one published message to every session with a matching subscription: one delivery
// per session at the highest granted QoS, carrying every matching subscription identifier; and
// one delivery per matching shared subscription group, to one of its members.

import { parseSharedSubscription, type QoS } from '../../protocol/index.js';
import type { BrokerStats } from './broker-stats.js';
import type { Message } from './message.js';
import type { DeliveryOptions, Session, SubscriptionOptions } from './session.js';
import { SharedGroup, sharedGroupKey } from './shared-group.js';
import { SubscriptionTree } from './subscription-tree.js';

/**
 * The deliveries of one publish, in parallel arrays reused from one publish to the next: a fan-out
 * to thousands of sessions then allocates nothing per subscriber (a Map and an object per
 * session, as before, were most of what a busy broker allocated and the collector chased).
 */
class Deliveries {
  length = 0;
  readonly sessions: Session[] = [];
  readonly qos: QoS[] = [];
  readonly retainAsPublished: boolean[] = [];
  readonly identifiers: (number[] | undefined)[] = [];
  readonly shared: Array<[Session, SubscriptionOptions]> = [];

  /** Lets go of the sessions (an ended one must not stay reachable from here). */
  clear(): void {
    for (let i = 0; i < this.length; i++) {
      this.sessions[i] = undefined!;
      this.identifiers[i] = undefined;
    }
    this.length = 0;
    this.shared.length = 0;
  }
}

/** Numbers the publishes of every router, for the sessions' marks (Session.routedBy). */
let publishSeq = 0;

/** Delivery options without subscription identifiers, by QoS and retain: shared, never changed. */
const PLAIN_OPTIONS: readonly DeliveryOptions[] = [0, 1, 2].flatMap((qos) =>
  [false, true].map((retain) =>
    Object.freeze({ qos: qos as QoS, retain, subscriptionIdentifiers: undefined }),
  ),
);

/** The member of a shared group that gets a message, when the choice is not the group's own. */
export type SharedPicker = (group: SharedGroup) => [Session, SubscriptionOptions] | undefined;

/** A tree entry: a session's own subscription, or a shared group standing for its members. */
type Subscriber = Session | SharedGroup;

export class Router {
  readonly tree = new SubscriptionTree<Subscriber, SubscriptionOptions | undefined>();
  /** "<share name>/<filter>" -> group. */
  readonly groups = new Map<string, SharedGroup>();
  readonly #stats: BrokerStats;

  constructor(stats: BrokerStats) {
    this.#stats = stats;
  }

  /** Adds or replaces a subscription (`$share/...` joins a group); true when it is new. */
  subscribe(session: Session, filter: string, options: SubscriptionOptions): boolean {
    session.subscriptions.set(filter, options);
    const shared = parseSharedSubscription(filter);
    if (!shared) return this.tree.add(filter, session, options);
    const key = sharedGroupKey(shared);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new SharedGroup(shared.shareName, shared.topicFilter);
      this.groups.set(key, group);
      this.tree.add(shared.topicFilter, group, undefined);
    }
    const isNew = !group.members.has(session);
    group.members.set(session, options);
    return isNew;
  }

  unsubscribe(session: Session, filter: string): boolean {
    if (!session.subscriptions.delete(filter)) return false;
    const shared = parseSharedSubscription(filter);
    if (!shared) return this.tree.remove(filter, session);
    const key = sharedGroupKey(shared);
    const group = this.groups.get(key);
    if (group === undefined || !group.members.delete(session)) return false;
    if (group.members.size === 0) {
      this.groups.delete(key);
      this.tree.remove(shared.topicFilter, group);
    }
    return true;
  }

  unsubscribeAll(session: Session): void {
    if (session.subscriptionCount === 0) return;
    for (const filter of [...session.subscriptions.keys()]) this.unsubscribe(session, filter);
  }

  /**
   * Routes a message; returns the number of deliveries made. `only`: to those sessions alone
   * (sessions that missed the message while they moved between cluster nodes). `pickShared`: who
   * of a shared group gets it, when a cluster decides (undefined: a member on another node).
   */
  publish(
    message: Message,
    origin: Session | undefined,
    only?: ReadonlySet<Session>,
    pickShared?: SharedPicker,
  ): number {
    // A delivery can publish in turn (a will, a bridge): that publish gets arrays of its own.
    const d = this.#depth === 0 ? this.#deliveries : new Deliveries();
    this.#current = d;
    this.#origin = origin;
    this.#only = only;
    this.#pickShared = pickShared;
    publishSeq++;
    this.tree.match(message.topic, this.#visit);
    this.#only = undefined;
    this.#origin = undefined;
    this.#pickShared = undefined;
    const count = d.length + d.shared.length;
    this.#depth++;
    try {
      for (let i = 0; i < d.length; i++)
        this.#deliver(message, d.sessions[i]!, d.qos[i]!, d.retainAsPublished[i]!, d.identifiers[i]);
      for (const [session, o] of d.shared) {
        const ids = o.subscriptionIdentifier === undefined ? undefined : [o.subscriptionIdentifier];
        this.#deliver(message, session, o.qos, o.retainAsPublished, ids);
      }
    } finally {
      this.#depth--;
      d.clear();
    }
    return count;
  }

  // What the visitor of the publish being matched works with (one visitor for every publish).
  readonly #deliveries = new Deliveries();
  #current: Deliveries = this.#deliveries;
  #origin: Session | undefined;
  #only: ReadonlySet<Session> | undefined;
  #pickShared: SharedPicker | undefined;
  #depth = 0;

  readonly #visit = (options: SubscriptionOptions | undefined, subscriber: Subscriber): void => {
    const only = this.#only;
    if (subscriber instanceof SharedGroup) {
      const member = this.#pickShared === undefined ? subscriber.pick() : this.#pickShared(subscriber);
      if (member && (only === undefined || only.has(member[0]))) this.#current.shared.push(member);
      return;
    }
    if (only !== undefined && !only.has(subscriber)) return;
    if (options!.noLocal && subscriber === this.#origin) return; // [MQTT-3.8.3-3]
    add(this.#current, publishSeq, subscriber, options!);
  };

  #deliver(
    message: Message,
    session: Session,
    qos: QoS,
    retainAsPublished: boolean,
    identifiers: number[] | undefined,
  ): void {
    // Mosquitto checks read access per message: a wildcard subscription may cover denied topics.
    if (session.mayReceive !== undefined && !session.mayReceive(message.topic)) return;
    const granted = Math.min(qos, message.qos) as QoS;
    // [MQTT-3.3.1-9] / [MQTT-3.3.1-12]: retain is cleared on normal delivery unless retain-as-published.
    const retain = retainAsPublished && message.retain;
    session.deliver(
      message,
      identifiers === undefined
        ? PLAIN_OPTIONS[granted * 2 + (retain ? 1 : 0)]!
        : { qos: granted, retain, subscriptionIdentifiers: identifiers },
      this.#stats,
    );
  }
}

/**
 * One matching subscription of `session`; overlapping ones of the same session make one delivery
 * at the highest QoS with every identifier [MQTT-3.3.4-2..5].
 */
function add(d: Deliveries, seq: number, session: Session, options: SubscriptionOptions): void {
  const id = options.subscriptionIdentifier;
  if (session.routedBy !== seq) {
    session.routedBy = seq;
    session.routedAt = d.length;
    const i = d.length++;
    d.sessions[i] = session;
    d.qos[i] = options.qos;
    d.retainAsPublished[i] = options.retainAsPublished;
    d.identifiers[i] = id === undefined ? undefined : [id];
    return;
  }
  const i = session.routedAt;
  if (options.qos > d.qos[i]!) d.qos[i] = options.qos;
  if (options.retainAsPublished) d.retainAsPublished[i] = true;
  if (id === undefined) return;
  const ids = d.identifiers[i];
  if (ids === undefined) d.identifiers[i] = [id];
  else ids.push(id);
}
