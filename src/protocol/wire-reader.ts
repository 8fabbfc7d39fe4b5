// Bounds-checked reads of MQTT's wire types over one packet's bytes [pos, end).
// Every failure is a ProtocolError naming the field; binary fields are slices, never copies.

import { malformed } from './protocol-error.js';

const EMPTY = Buffer.alloc(0);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class WireReader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;

  reset(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw truncated(what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    const p = this.pos;
    if (p + 2 > this.end) throw truncated(what);
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(what: string): number {
    const p = this.pos;
    if (p + 4 > this.end) throw truncated(what);
    this.pos = p + 4;
    const b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** Variable Byte Integer: at most 4 bytes, minimally encoded [MQTT-1.5.5-1]. */
  varint(what: string): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) throw truncated(what);
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0)
          throw malformed('ERR_VARINT_NOT_MINIMAL', `${what} is not minimally encoded`);
        return value;
      }
      multiplier *= 128;
    }
    throw malformed('ERR_VARINT_TOO_LONG', `${what} is longer than 4 bytes`);
  }

  utf8(what: string): string {
    const start = this.#field(what);
    return decodeUtf8(this.buf, start, this.pos, what);
  }

  /** A UTF-8 string checked as utf8() checks it, without making the string (when it is ASCII). */
  checkUtf8(what: string): void {
    const start = this.#field(what);
    if (!isPlainAscii(this.buf, start, this.pos, what)) decodeNonAscii(this.buf, start, this.pos, what);
  }

  /** Two-byte length-prefixed binary data, as a slice of the packet. */
  binary(what: string): Buffer {
    const start = this.#field(what);
    return this.buf.subarray(start, this.pos);
  }

  /** Moves past a two-byte length-prefixed field; returns where it starts (it ends at `pos`). */
  #field(what: string): number {
    const length = this.u16(what);
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw truncated(what);
    this.pos = end;
    return start;
  }

  /** Everything left in the packet, as a slice (a PUBLISH payload). */
  rest(): Buffer {
    const slice = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return slice;
  }

  expectEnd(packet: string): void {
    if (this.pos !== this.end) {
      throw malformed(
        'ERR_TRAILING_BYTES',
        `${packet} has ${this.end - this.pos} bytes after its last field`,
      );
    }
  }
}

/** UTF-8 per [MQTT-1.5.4-1] (well-formed, no surrogates) and [MQTT-1.5.4-2] (no U+0000). */
export function decodeUtf8(buf: Buffer, start: number, end: number, what: string): string {
  return isPlainAscii(buf, start, end, what)
    ? buf.toString('latin1', start, end)
    : decodeNonAscii(buf, start, end, what);
}

/** True when every byte is ASCII; U+0000 before the first other byte is refused. */
function isPlainAscii(buf: Buffer, start: number, end: number, what: string): boolean {
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    if (byte === 0) throw malformed('ERR_UTF8_NULL', `${what} contains U+0000 [MQTT-1.5.4-2]`);
    if (byte > 0x7f) return false;
  }
  return true;
}

function decodeNonAscii(buf: Buffer, start: number, end: number, what: string): string {
  let text: string;
  try {
    text = utf8Decoder.decode(buf.subarray(start, end));
  } catch {
    throw malformed('ERR_INVALID_UTF8', `${what} is not well-formed UTF-8 [MQTT-1.5.4-1]`);
  }
  if (text.includes('\u0000')) throw malformed('ERR_UTF8_NULL', `${what} contains U+0000 [MQTT-1.5.4-2]`);
  return text;
}

function truncated(what: string) {
  return malformed('ERR_TRUNCATED', `${what} runs past the end of the packet`);
}
