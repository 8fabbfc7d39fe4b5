// Fan-out of one published message to every session with a matching subscription: one delivery
// per session at the highest granted QoS, carrying every matching subscription identifier.

import type { QoS } from '../../protocol/index.js';
import type { BrokerStats } from './broker-stats.js';
import type { Message } from './message.js';
import type { Session, SubscriptionOptions } from './session.js';
import { SubscriptionTree } from './subscription-tree.js';

interface Delivery {
  qos: QoS;
  retainAsPublished: boolean;
  identifiers: number[] | undefined;
}

export class Router {
  readonly tree = new SubscriptionTree<Session, SubscriptionOptions>();
  readonly #stats: BrokerStats;

  constructor(stats: BrokerStats) {
    this.#stats = stats;
  }

  subscribe(session: Session, filter: string, options: SubscriptionOptions): boolean {
    session.subscriptions.set(filter, options);
    return this.tree.add(filter, session, options);
  }

  unsubscribe(session: Session, filter: string): boolean {
    session.subscriptions.delete(filter);
    return this.tree.remove(filter, session);
  }

  unsubscribeAll(session: Session): void {
    for (const filter of session.subscriptions.keys()) this.tree.remove(filter, session);
    session.subscriptions.clear();
  }

  /** Routes a message; returns the number of sessions it was delivered to. */
  publish(message: Message, origin: Session | undefined): number {
    const deliveries = new Map<Session, Delivery>();
    this.tree.match(message.topic, (session, options) => {
      if (options.noLocal && session === origin) return; // [MQTT-3.8.3-3]
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
    });
    for (const [session, d] of deliveries) {
      session.deliver(
        message,
        {
          qos: Math.min(d.qos, message.qos) as QoS,
          // [MQTT-3.3.1-9] / [MQTT-3.3.1-12]: retain is cleared on normal delivery unless retain-as-published.
          retain: d.retainAsPublished && message.retain,
          subscriptionIdentifiers: d.identifiers,
        },
        this.#stats,
      );
    }
    return deliveries.size;
  }
}
