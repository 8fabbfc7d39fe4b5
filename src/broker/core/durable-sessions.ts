// What the store is told of persistent sessions and retained messages: the core's changes as
// plain records. A message is stored once and referenced by every session that keeps it (counted
// here); its record goes when the last reference does.

import type { GroupCommit } from './group-commit.js';
import type { Message } from './message.js';
import type { OutboundEntry, QueuedDelivery, Session, SessionJournal, StoredPlace } from './session.js';
import type { MessageRecord, QueuedRecord, SessionRecord, StoreWrite } from './store-ports.js';

/** A record's last write still in the open transaction, and whether a version of it is on disk. */
type Place = Pick<StoredPlace, 'pending' | 'onDisk'>;

interface StoredMessage extends Place {
  readonly id: number;
  refs: number;
}

export class DurableSessions implements SessionJournal {
  readonly #commits: GroupCommit;
  /** Stored messages by the object the router shares across sessions: their id and references. */
  readonly #messages = new Map<Message, StoredMessage>();
  #nextMessageId = 1;
  #nextSeq = 1;

  constructor(commits: GroupCommit) {
    this.#commits = commits;
  }

  /** Recovery: ids continue after the highest stored. */
  resumeCounters(maxMessageId: number, maxSeq: number): void {
    this.#nextMessageId = Math.max(this.#nextMessageId, maxMessageId + 1);
    this.#nextSeq = Math.max(this.#nextSeq, maxSeq + 1);
  }

  /** Recovery: a stored message object, with the id it has in the store. */
  adopt(message: Message, id: number): void {
    this.#messages.set(message, { id, refs: 0, pending: undefined, onDisk: true });
  }

  /** Recovery: the stored messages no session refers to any more are deleted. */
  pruneUnreferenced(): void {
    for (const [message, entry] of this.#messages)
      if (entry.refs === 0) {
        this.#messages.delete(message);
        this.#commits.write({ kind: 'message', id: entry.id, record: undefined });
      }
  }

  /** Recovery: the session holds `item` (its record and message already stored). */
  reference(item: QueuedDelivery): void {
    const entry = this.#messages.get(item.message);
    if (entry !== undefined) entry.refs++;
  }

  /** Writes the session's own record: after CONNECT, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT. */
  save(session: Session): void {
    this.#commits.write({ kind: 'session', clientId: session.clientId, record: sessionRecord(session) });
  }

  /** Starts keeping a session: its record and everything it already holds. */
  attach(session: Session): void {
    session.journal = this;
    this.save(session);
    for (const item of session.kept()) if (item.stored === undefined) this.kept(session, item, asEntry(item));
  }

  /** The session ended, or will end with its connection: every record of it goes. */
  forget(session: Session): void {
    if (session.journal !== this) return;
    session.journal = undefined;
    const clientId = session.clientId;
    this.#commits.write({ kind: 'session', clientId, record: undefined });
    for (const item of session.kept()) this.#release(clientId, item);
    for (const packetId of session.inboundQos2)
      this.#commits.write({ kind: 'inbound', clientId, packetId, present: false });
  }

  retained(topic: string, message: Message | undefined): void {
    // $SYS values are the broker's own, published anew every sys_interval from its start.
    if (topic.startsWith('$SYS/')) return;
    this.#commits.write({ kind: 'retained', topic, record: message && messageRecord(message) });
  }

  kept(session: Session, item: QueuedDelivery, inFlight?: OutboundEntry): void {
    let stored = this.#messages.get(item.message);
    if (stored === undefined) {
      stored = { id: this.#nextMessageId++, refs: 0, pending: undefined, onDisk: false };
      this.#messages.set(item.message, stored);
      this.#put(stored, { kind: 'message', id: stored.id, record: messageRecord(item.message) });
    }
    stored.refs++;
    const place = { seq: this.#nextSeq++, pending: undefined, onDisk: false };
    item.stored = place;
    if (inFlight !== undefined) inFlight.stored = place;
    this.#putQueued(session.clientId, stored.id, inFlight ?? item);
  }

  progressed(session: Session, entry: OutboundEntry): void {
    const stored = this.#messages.get(entry.message);
    if (stored !== undefined) this.#putQueued(session.clientId, stored.id, entry);
  }

  dropped(session: Session, item: QueuedDelivery): void {
    this.#release(session.clientId, item);
  }

  inbound(session: Session, packetId: number, present: boolean): void {
    this.#commits.write({ kind: 'inbound', clientId: session.clientId, packetId, present });
  }

  #putQueued(clientId: string, messageId: number, item: QueuedDelivery | OutboundEntry): void {
    const place = item.stored!;
    this.#put(place, {
      kind: 'queued',
      clientId,
      seq: place.seq,
      record: queuedRecord(clientId, place.seq, messageId, item),
    });
  }

  #release(clientId: string, item: QueuedDelivery): void {
    const place = item.stored;
    if (place === undefined) return;
    item.stored = undefined;
    this.#delete(place, { kind: 'queued', clientId, seq: place.seq, record: undefined });
    const stored = this.#messages.get(item.message);
    if (stored === undefined || --stored.refs > 0) return;
    this.#messages.delete(item.message);
    this.#delete(stored, { kind: 'message', id: stored.id, record: undefined });
  }

  /** A record's new version replaces one still waiting in the open transaction. */
  #put(place: Place, write: StoreWrite): void {
    this.#supersede(place);
    place.pending = write;
    this.#commits.write(write);
  }

  /**
   * Deletes a record; when no version of it reached the store (a message delivered and
   * acknowledged within one transaction's wait), nothing is written at all.
   */
  #delete(place: Place, write: StoreWrite): void {
    this.#supersede(place);
    if (place.onDisk) this.#commits.write(write);
  }

  #supersede(place: Place): void {
    const previous = place.pending as StoreWrite | undefined;
    place.pending = undefined;
    if (previous !== undefined && !this.#commits.cancel(previous)) place.onDisk = true;
  }
}

const asEntry = (item: QueuedDelivery): OutboundEntry | undefined =>
  'packet' in item ? (item as OutboundEntry) : undefined;

export function messageRecord(m: Message): MessageRecord {
  return {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    ...(m.properties !== undefined && { properties: m.properties }),
    ...(m.expiresAt !== undefined && { expiresAt: m.expiresAt }),
    ...(m.source !== undefined && { source: m.source }),
  };
}

function queuedRecord(
  clientId: string,
  seq: number,
  messageId: number,
  item: QueuedDelivery | OutboundEntry,
): QueuedRecord {
  const entry = asEntry(item);
  const ids = item.options.subscriptionIdentifiers;
  return {
    clientId,
    seq,
    messageId,
    qos: item.options.qos,
    retain: item.options.retain,
    ...(ids !== undefined && { subscriptionIdentifiers: ids }),
    ...(entry !== undefined && { packetId: entry.packet.packetId!, awaiting: entry.awaiting }),
  };
}

function sessionRecord(s: Session): SessionRecord {
  const will = s.pendingWill?.message ?? s.will;
  return {
    clientId: s.clientId,
    ...(s.username !== undefined && { username: s.username }),
    expiryInterval: s.expiryInterval,
    ...(s.owner !== undefined && { connected: true as const }),
    ...(s.expiresAt !== undefined && { expiresAt: s.expiresAt }),
    subscriptions:
      s.subscriptionCount === 0 ? [] : [...s.subscriptions].map(([filter, o]) => ({ filter, ...o })),
    ...(will !== undefined && { will: messageRecord(will) }),
    ...(s.pendingWill !== undefined && { willAt: s.pendingWill.at }),
  };
}
