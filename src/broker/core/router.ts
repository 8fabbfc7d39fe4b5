// Fan-out of one published message to every session with a matching subscription: one delivery
// per session at the highest granted QoS, carrying every matching subscription identifier; and
// one delivery per matching shared subscription group, to one of its members.

import { parseSharedSubscription, type QoS } from '../../protocol/index.js';
import type { BrokerStats } from './broker-stats.js';
import type { Message } from './message.js';
import type { Session, SubscriptionOptions } from './session.js';
import { SharedGroup, sharedGroupKey } from './shared-group.js';
import { SubscriptionTree } from './subscription-tree.js';

interface Delivery {
  qos: QoS;
  retainAsPublished: boolean;
  identifiers: number[] | undefined;
}

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
    const deliveries = new Map<Session, Delivery>();
    const shared: Array<[Session, SubscriptionOptions]> = [];
    this.tree.match(message.topic, (subscriber, options) => {
      if (subscriber instanceof SharedGroup) {
        const member = pickShared === undefined ? subscriber.pick() : pickShared(subscriber);
        if (member && (only === undefined || only.has(member[0]))) shared.push(member);
        return;
      }
      if (only !== undefined && !only.has(subscriber)) return;
      if (options!.noLocal && subscriber === origin) return; // [MQTT-3.8.3-3]
      merge(deliveries, subscriber, options!);
    });
    for (const [session, d] of deliveries)
      this.#deliver(message, session, d.qos, d.retainAsPublished, d.identifiers);
    for (const [session, o] of shared) {
      const ids = o.subscriptionIdentifier === undefined ? undefined : [o.subscriptionIdentifier];
      this.#deliver(message, session, o.qos, o.retainAsPublished, ids);
    }
    return deliveries.size + shared.length;
  }

  #deliver(
    message: Message,
    session: Session,
    qos: QoS,
    retainAsPublished: boolean,
    identifiers: number[] | undefined,
  ): void {
    // Mosquitto checks read access per message: a wildcard subscription may cover denied topics.
    if (session.mayReceive !== undefined && !session.mayReceive(message.topic)) return;
    session.deliver(
      message,
      {
        qos: Math.min(qos, message.qos) as QoS,
        // [MQTT-3.3.1-9] / [MQTT-3.3.1-12]: retain is cleared on normal delivery unless retain-as-published.
        retain: retainAsPublished && message.retain,
        subscriptionIdentifiers: identifiers,
      },
      this.#stats,
    );
  }
}

/** Overlapping subscriptions of one session: the highest QoS and every identifier [MQTT-3.3.4-2..5]. */
function merge(deliveries: Map<Session, Delivery>, session: Session, options: SubscriptionOptions): void {
  const id = options.subscriptionIdentifier;
  const seen = deliveries.get(session);
  if (seen === undefined) {
    deliveries.set(session, {
      qos: options.qos,
      retainAsPublished: options.retainAsPublished,
      identifiers: id === undefined ? undefined : [id],
    });
    return;
  }
  if (options.qos > seen.qos) seen.qos = options.qos;
  seen.retainAsPublished ||= options.retainAsPublished;
  if (id === undefined) return;
  if (seen.identifiers === undefined) seen.identifiers = [id];
  else seen.identifiers.push(id);
}
