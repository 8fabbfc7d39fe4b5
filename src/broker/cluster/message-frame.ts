// One message as the cluster keeps it in Redis (in the log, the retained hash, a session's kept
// messages): [u32 header length][JSON header][payload bytes], so the payload is never re-encoded.

import type { Message } from '../core/message.js';

interface Header {
  /** Node that wrote it. */
  n?: string;
  /** The publisher's client id (no-local is judged on each node against it). */
  o?: string;
  t: string;
  q: 0 | 1 | 2;
  r: boolean;
  p?: Message['properties'];
  e?: number;
  s?: Message['source'];
}

export function encodeFrame(m: Message, extra: { node?: string; origin?: string } = {}): Buffer {
  const header: Header = {
    ...(extra.node !== undefined && { n: extra.node }),
    ...(extra.origin !== undefined && { o: extra.origin }),
    t: m.topic,
    q: m.qos,
    r: m.retain,
    ...(m.properties !== undefined && { p: m.properties }),
    ...(m.expiresAt !== undefined && { e: m.expiresAt }),
    ...(m.source !== undefined && { s: m.source }),
  };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json, m.payload]);
}

/** Buffers in records (correlation and authentication data, a will's payload) survive JSON as {type, data}. */
export const reviveBuffers = (_key: string, value: unknown) =>
  typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer'
    ? Buffer.from((value as { data: number[] }).data)
    : value;

export function decodeFrame(frame: Buffer): { node?: string; origin?: string; message: Message } {
  const length = frame.readUInt32BE(0);
  const h = JSON.parse(frame.subarray(4, 4 + length).toString('utf8'), reviveBuffers) as Header;
  const message: Message = {
    topic: h.t,
    payload: Buffer.from(frame.subarray(4 + length)),
    qos: h.q,
    retain: h.r,
    ...(h.p !== undefined && { properties: h.p }),
    ...(h.e !== undefined && { expiresAt: h.e }),
    ...(h.s !== undefined && { source: h.s }),
  };
  return {
    ...(h.n !== undefined && { node: h.n }),
    ...(h.o !== undefined && { origin: h.o }),
    message,
  };
}
