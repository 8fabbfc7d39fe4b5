// One shared subscription group ($share/<name>/<filter>, MQTT 5.0 4.8.2): its member sessions,
// and the choice of the one that gets each message, round-robin, connected members first.

import type { Session, SubscriptionOptions } from './session.js';

/** "<share name>/<filter>": a shared group's name, on this node and across a cluster. */
export const sharedGroupKey = (shared: { readonly shareName: string; readonly topicFilter: string }) =>
  `${shared.shareName}/${shared.topicFilter}`;

export class SharedGroup {
  readonly shareName: string;
  readonly topicFilter: string;
  readonly members = new Map<Session, SubscriptionOptions>();
  #turn = 0;

  constructor(shareName: string, topicFilter: string) {
    this.shareName = shareName;
    this.topicFilter = topicFilter;
  }

  get key(): string {
    return sharedGroupKey(this);
  }

  /** The member with this client id, if it is one here. */
  member(clientId: string): [Session, SubscriptionOptions] | undefined {
    for (const entry of this.members) if (entry[0].clientId === clientId) return entry;
    return undefined;
  }

  /** The member for the next message: the next connected one in turn, else the next in turn. */
  pick(): [Session, SubscriptionOptions] | undefined {
    const members = [...this.members];
    if (members.length === 0) return undefined;
    for (let i = 0; i < members.length; i++) {
      const candidate = members[(this.#turn + i) % members.length]!;
      if (candidate[0].owner !== undefined) {
        this.#turn = (this.#turn + i + 1) % members.length;
        return candidate;
      }
    }
    const fallback = members[this.#turn % members.length]!;
    this.#turn = (this.#turn + 1) % members.length;
    return fallback;
  }
}
