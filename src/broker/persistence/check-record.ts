// The shape of each record read back from a store, checked field by field before the core is
// given it: a damaged record is reported as such (with its key) instead of failing later inside
// a session. Hand-written rather than a schema: recovery reads a million records.

import type { MessageRecord, QueuedRecord, SessionRecord } from '../core/store-ports.js';

interface Kinds {
  session: SessionRecord;
  message: MessageRecord;
  queued: QueuedRecord;
  inbound: { clientId: string; packetId: number };
}

type Shape = Record<string, (v: unknown) => boolean>;
const str = (v: unknown) => typeof v === 'string';
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const opt = (check: (v: unknown) => boolean) => (v: unknown) => v === undefined || check(v);
const qos = (v: unknown) => v === 0 || v === 1 || v === 2;

const message: Shape = {
  topic: str,
  payload: (v) => Buffer.isBuffer(v) || v instanceof Uint8Array,
  qos,
  retain: (v) => typeof v === 'boolean',
  expiresAt: opt(num),
  source: opt((v) => fits({ clientId: str, username: opt(str) }, v)),
};

const shapes: Record<keyof Kinds, Shape> = {
  session: {
    clientId: str,
    username: opt(str),
    expiryInterval: num,
    connected: opt((v) => v === true),
    expiresAt: opt(num),
    willAt: opt(num),
    subscriptions: (v) => Array.isArray(v) && v.every((s) => str(s?.filter) && qos(s?.qos)),
    will: opt((v) => fits(message, v)),
  },
  message,
  queued: {
    clientId: str,
    seq: num,
    messageId: num,
    qos,
    packetId: opt(num),
    awaiting: opt((v) => v === 'puback' || v === 'pubrec' || v === 'pubcomp'),
  },
  inbound: { clientId: str, packetId: num },
};

function fits(shape: Shape, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  for (const field in shape) if (!shape[field]!(record[field])) return false;
  return true;
}

/** The record, typed; throws naming the kind when a field is missing or of the wrong type. */
export function checkRecord<K extends keyof Kinds>(kind: K, value: unknown): Kinds[K] {
  if (!fits(shapes[kind], value)) throw new Error(`a ${kind} record has missing or mistyped fields`);
  const record = value as Kinds[K];
  // msgpack may hand back a Uint8Array; the core works with Buffers.
  if ('payload' in record && !Buffer.isBuffer(record.payload))
    (record as { payload: Buffer }).payload = Buffer.from(record.payload as Uint8Array);
  return record;
}
