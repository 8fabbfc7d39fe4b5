// One message as the cluster keeps it in Redis (in the log, the retained hash, a session's kept
// messages), in binary so that the common message costs one allocation to write and no parse
// to read; the payload is never re-encoded:
//   u8 flags (bits 0-1 QoS, 2 retain, 3 expiry, 4 extra)  u16 topic length, topic
//   u16 origin length, origin (the publisher's client id, for no-local; 0: none)
//   [f64 expiresAt]  [u32 length, JSON {p: properties, s: source}]  payload
// A log entry packs the messages of one transaction: ([u32 frame length][frame])...

import type { Message } from '../core/message.js';

const RETAIN = 4;
const EXPIRY = 8;
const EXTRA = 16;

/** Buffers in records (correlation and authentication data, a will's payload) survive JSON as {type, data}. */
export const reviveBuffers = (_key: string, value: unknown) =>
  typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer'
    ? Buffer.from((value as { data: number[] }).data)
    : value;

interface Sized {
  readonly message: Message;
  readonly origin: string | undefined;
  readonly extra: string | undefined;
  readonly size: number;
}

function sized(message: Message, origin?: string): Sized {
  const extra =
    message.properties === undefined && message.source === undefined
      ? undefined
      : JSON.stringify({ p: message.properties, s: message.source });
  const size =
    1 +
    2 +
    Buffer.byteLength(message.topic) +
    2 +
    (origin === undefined ? 0 : Buffer.byteLength(origin)) +
    (message.expiresAt === undefined ? 0 : 8) +
    (extra === undefined ? 0 : 4 + Buffer.byteLength(extra)) +
    message.payload.length;
  return { message, origin, extra, size };
}

function write(out: Buffer, at: number, { message: m, origin, extra }: Sized): number {
  out[at++] =
    m.qos | (m.retain ? RETAIN : 0) | (m.expiresAt === undefined ? 0 : EXPIRY) | (extra ? EXTRA : 0);
  const text = (value: string) => {
    const length = out.write(value, at + 2, 'utf8');
    out.writeUInt16BE(length, at);
    at += 2 + length;
  };
  text(m.topic);
  text(origin ?? '');
  if (m.expiresAt !== undefined) at = out.writeDoubleBE(m.expiresAt, at);
  if (extra !== undefined) {
    const length = out.write(extra, at + 4, 'utf8');
    out.writeUInt32BE(length, at);
    at += 4 + length;
  }
  return at + m.payload.copy(out, at);
}

export function encodeFrame(message: Message, origin?: string): Buffer {
  const s = sized(message, origin);
  const out = Buffer.allocUnsafe(s.size);
  write(out, 0, s);
  return out;
}

/** The messages of one transaction, as one log entry. */
export function encodeFrames(messages: ReadonlyArray<{ message: Message; origin?: string }>): Buffer {
  const all = messages.map(({ message, origin }) => sized(message, origin));
  const out = Buffer.allocUnsafe(all.reduce((sum, s) => sum + 4 + s.size, 0));
  let at = 0;
  for (const s of all) {
    out.writeUInt32BE(s.size, at);
    at = write(out, at + 4, s);
  }
  return out;
}

/**
 * The messages of one log entry, each with its own id ("<entry id>/<n>": what a shared group's
 * member is chosen by, the same on every node).
 */
export function* entryMessages(
  entryId: string,
  packed: Buffer,
): Iterable<{ id: string; origin?: string; message: Message }> {
  let at = 0;
  for (let n = 0; at + 4 <= packed.length; n++) {
    const length = packed.readUInt32BE(at);
    yield { id: `${entryId}/${n}`, ...decodeFrame(packed.subarray(at + 4, at + 4 + length)) };
    at += 4 + length;
  }
}

/** The payload is a view of `frame` (which is Redis' reply, made for this message's readers). */
export function decodeFrame(frame: Buffer): { origin?: string; message: Message } {
  const flags = frame[0]!;
  let at = 1;
  const text = () => {
    const length = frame.readUInt16BE(at);
    at += 2 + length;
    return frame.toString('utf8', at - length, at);
  };
  const topic = text();
  const origin = text();
  let expiresAt: number | undefined;
  if (flags & EXPIRY) {
    expiresAt = frame.readDoubleBE(at);
    at += 8;
  }
  let extra: { p?: Message['properties']; s?: Message['source'] } | undefined;
  if (flags & EXTRA) {
    const length = frame.readUInt32BE(at);
    extra = JSON.parse(frame.toString('utf8', at + 4, at + 4 + length), reviveBuffers) as typeof extra;
    at += 4 + length;
  }
  const message: Message = {
    topic,
    payload: frame.subarray(at),
    qos: (flags & 3) as 0 | 1 | 2,
    retain: (flags & RETAIN) !== 0,
    ...(extra?.p !== undefined && { properties: extra.p }),
    ...(expiresAt !== undefined && { expiresAt }),
    ...(extra?.s !== undefined && { source: extra.s }),
  };
  return origin === '' ? { message } : { origin, message };
}
