// Recovery at start, as named steps over what the store held: retained messages, sessions with
// their subscriptions (the subscription tree rebuilt), queued and in-flight messages (in-flight
// ones resent with DUP on reconnect), inbound QoS 2 ids, then every deadline against the clock
// now: a will whose delay passed while the broker was down is published, an expired session is
// ended, an expired message is dropped. A session whose client was connected when the broker
// stopped counts as disconnected now: its will (if any) and its expiry run from this moment.

import { withProperties } from '../../protocol/index.js';
import type { BrokerCore } from './broker-core.js';
import type { Message } from './message.js';
import { propertiesAt } from './message.js';
import { type OutboundEntry, type QueuedDelivery, Session } from './session.js';
import type { MessageRecord, SessionRecord, StoredState } from './store-ports.js';

export interface RecoveryReport {
  sessions: number;
  subscriptions: number;
  queued: number;
  inFlight: number;
  retained: number;
  /** Ended at start: their expiry passed while the broker was down. */
  expiredSessions: number;
  /** Dropped at start: their Message Expiry Interval passed. */
  expiredMessages: number;
  willsPublished: number;
}

interface RecoveryContext {
  readonly core: BrokerCore;
  readonly state: StoredState;
  readonly now: number;
  readonly messages: Map<number, Message>;
  readonly report: RecoveryReport;
}

type RecoveryStep = (r: RecoveryContext) => void;

const expired = (m: { expiresAt?: number }, now: number) => m.expiresAt !== undefined && m.expiresAt <= now;

const toMessage = (m: MessageRecord): Message => ({ ...m });

const retained: RecoveryStep = ({ core, state, now, report }) => {
  for (const record of state.retained) {
    if (expired(record, now)) {
      core.durable.retained(record.topic, undefined);
      report.expiredMessages++;
      continue;
    }
    core.retained.set(record.topic, toMessage(record));
    report.retained++;
  }
};

const messages: RecoveryStep = ({ core, state, messages }) => {
  for (const [id, record] of state.messages) {
    const message = toMessage(record);
    messages.set(id, message);
    core.durable.adopt(message, id);
  }
};

const sessions: RecoveryStep = ({ core, state, report }) => {
  for (const record of state.sessions) {
    const session = new Session(record.clientId, core.options);
    session.expiryInterval = record.expiryInterval;
    session.username = record.username;
    session.journal = core.durable;
    core.sessions.set(record.clientId, session);
    for (const { filter, ...options } of record.subscriptions)
      core.router.subscribe(session, filter, options);
    report.sessions++;
    report.subscriptions += record.subscriptions.length;
  }
};

const queued: RecoveryStep = ({ core, state, now, messages, report }) => {
  let maxSeq = 0;
  for (const q of state.queued) {
    maxSeq = Math.max(maxSeq, q.seq);
    const session = core.sessions.get(q.clientId);
    const message = messages.get(q.messageId);
    const options = { qos: q.qos, retain: q.retain, subscriptionIdentifiers: q.subscriptionIdentifiers };
    if (
      session === undefined ||
      message === undefined ||
      (expired(message, now) && q.awaiting !== 'pubcomp')
    ) {
      core.commits.write({ kind: 'queued', clientId: q.clientId, seq: q.seq, record: undefined });
      if (message !== undefined && session !== undefined) report.expiredMessages++;
      continue;
    }
    const item: QueuedDelivery = {
      message,
      options,
      stored: { seq: q.seq, pending: undefined, onDisk: true },
    };
    core.durable.reference(item);
    if (q.packetId === undefined || q.awaiting === undefined) {
      session.queue.push(item);
      report.queued++;
      continue;
    }
    const current = propertiesAt(message, now);
    const properties = current === 'expired' ? undefined : current;
    const entry: OutboundEntry = {
      ...item,
      awaiting: q.awaiting,
      packet: {
        type: 'publish',
        topic: message.topic,
        payload: message.payload,
        qos: q.qos,
        retain: q.retain,
        dup: true,
        packetId: q.packetId,
        properties:
          q.subscriptionIdentifiers === undefined
            ? properties
            : withProperties(properties, { subscriptionIdentifiers: q.subscriptionIdentifiers }),
      },
    };
    session.restoreInFlight(entry);
    report.inFlight++;
  }
  let maxId = 0;
  for (const id of state.messages.keys()) if (id > maxId) maxId = id;
  core.durable.resumeCounters(maxId, maxSeq);
  core.durable.pruneUnreferenced();
};

const inbound: RecoveryStep = ({ core, state }) => {
  for (const { clientId, packetId } of state.inbound) {
    const session = core.sessions.get(clientId);
    if (session !== undefined) session.restoreInbound(packetId);
    else core.commits.write({ kind: 'inbound', clientId, packetId, present: false });
  }
};

/** Last, so that a will published now reaches the sessions restored above. */
const deadlines: RecoveryStep = ({ core, state, now, report }) => {
  for (const record of state.sessions) {
    const session = core.sessions.get(record.clientId)!;
    const will = record.will === undefined ? undefined : toMessage(record.will);
    if (record.connected === true) {
      // Connected when the broker stopped: the connection was lost now.
      if (will !== undefined) report.willsPublished += willDueNow(will, record);
      core.sessionDisconnected(session, will);
      continue;
    }
    if (will !== undefined && record.willAt !== undefined) {
      if (record.willAt <= now) report.willsPublished++;
      core.holdWill(session, will, record.willAt);
    }
    if (record.expiresAt === undefined) continue;
    if (record.expiresAt <= now) report.expiredSessions++;
    core.expireAt(session, record.expiresAt);
  }
};

/** 1 when a will of a connection lost now goes out at once (no delay, or a session ending now). */
const willDueNow = (will: Message, record: SessionRecord): number =>
  (will.properties?.willDelayInterval ?? 0) === 0 || record.expiryInterval === 0 ? 1 : 0;

const recoverySteps: readonly RecoveryStep[] = [retained, messages, sessions, queued, inbound, deadlines];

/** Rebuilds the core's state from what a store held; returns what was recovered. */
export function recover(core: BrokerCore, state: StoredState): RecoveryReport {
  const r: RecoveryContext = {
    core,
    state,
    now: core.options.clock.now(),
    messages: new Map(),
    report: {
      sessions: 0,
      subscriptions: 0,
      queued: 0,
      inFlight: 0,
      retained: 0,
      expiredSessions: 0,
      expiredMessages: 0,
      willsPublished: 0,
    },
  };
  for (const step of recoverySteps) step(r);
  return r.report;
}
