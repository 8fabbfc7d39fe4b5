// The mirror of wire-reader: sizes and writes of MQTT's wire types into a buffer allocated once
// per packet at its exact length. Refuses values the wire cannot carry.

import { ProtocolError } from './protocol-error.js';

export const MAX_VARINT = 268_435_455;

export function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;
}

/** Bytes a length-prefixed UTF-8 string takes on the wire. */
export function utf8Size(text: string, what: string): number {
  const length = Buffer.byteLength(text);
  if (length > 0xffff) throw outOfRange(`${what} is ${length} bytes; the limit is 65535`);
  return 2 + length;
}

export function binarySize(data: Uint8Array, what: string): number {
  if (data.length > 0xffff) throw outOfRange(`${what} is ${data.length} bytes; the limit is 65535`);
  return 2 + data.length;
}

export class WireWriter {
  readonly buf: Buffer;
  pos: number;

  /**
   * Allocates the packet and writes its fixed header. `unallocatedTail` bytes at the end (a PUBLISH
   * payload sent as its own buffer) count in the remaining length but get no room here.
   */
  constructor(firstByte: number, remainingLength: number, unallocatedTail = 0) {
    if (remainingLength > MAX_VARINT) {
      throw outOfRange(`packet body is ${remainingLength} bytes; the limit is ${MAX_VARINT}`);
    }
    this.buf = Buffer.allocUnsafe(1 + varintSize(remainingLength) + remainingLength - unallocatedTail);
    this.buf[0] = firstByte;
    this.pos = 1;
    this.varint(remainingLength);
  }

  u8(value: number): void {
    this.buf[this.pos++] = value;
  }

  u16(value: number): void {
    const b = this.buf;
    b[this.pos++] = value >>> 8;
    b[this.pos++] = value & 0xff;
  }

  u32(value: number): void {
    this.buf.writeUInt32BE(value, this.pos);
    this.pos += 4;
  }

  varint(value: number): void {
    const b = this.buf;
    do {
      let byte = value % 128;
      value = Math.floor(value / 128);
      if (value > 0) byte |= 0x80;
      b[this.pos++] = byte;
    } while (value > 0);
  }

  /** Length-prefixed UTF-8; the caller has sized it with utf8Size. */
  utf8(text: string): void {
    const written = this.buf.write(text, this.pos + 2, 'utf8');
    this.u16(written);
    this.pos += written;
  }

  binary(data: Uint8Array): void {
    this.u16(data.length);
    this.bytes(data);
  }

  bytes(data: Uint8Array): void {
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
}

export function outOfRange(message: string): ProtocolError {
  return new ProtocolError('ERR_VALUE_OUT_OF_RANGE', message);
}
