// push(chunk) -> Packet[] over a byte stream split anywhere. Packets wholly inside a chunk are
// decoded in place (payloads are slices of the chunk); a packet split across chunks is gathered
// into one buffer, allocated only after its fixed header passed the size limit and grown with
// the bytes that arrive (never to more than twice what came).

import { decodePacket } from './decode/decode-packet.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { malformed, ProtocolError } from './protocol-error.js';
import { ReasonCode } from './reason-codes.js';
import { WireReader } from './wire-reader.js';
import { MAX_VARINT } from './wire-writer.js';

export interface FrameDecoderOptions {
  /** Version for packets other than CONNECT; a decoded CONNECT sets it (the server side). */
  readonly protocolVersion?: ProtocolVersion;
  /** Largest whole packet accepted, fixed header included (v5 Maximum Packet Size). */
  readonly maxPacketSize?: number;
  /**
   * Server side: refuse a first packet other than CONNECT at its first byte [MQTT-3.1.0-1], so a
   * peer speaking another protocol is dropped at once, not after the connect timeout.
   */
  readonly requireConnectFirst?: boolean;
}

/** The largest packet MQTT can carry: 1 + 4 + the largest Remaining Length. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_VARINT;
const NEED_MORE = -1;
/** What a split body starts with; it grows as its bytes arrive. */
const FIRST_BODY_BYTES = 64 * 1024;
/**
 * One reader for every decoder: a packet is decoded synchronously, start to end, so no two
 * decodes overlap. Kept per decoder it held each idle connection's last chunk alive.
 */
const reader = new WireReader();

export class FrameDecoder {
  #version: ProtocolVersion | undefined;
  readonly #maxPacketSize: number;
  #failed: ProtocolError | undefined;
  #awaitingConnect: boolean;
  // A fixed header split across chunks: up to 5 bytes, allocated the first time one is.
  #head: Buffer | undefined;
  #headLength = 0;
  // A body split across chunks, gathered here.
  #body: Buffer | undefined;
  #bodyFilled = 0;
  /** The body's length as its header announced it. */
  #bodyLength = 0;
  #bodyFirstByte = 0;

  constructor(options: FrameDecoderOptions = {}) {
    this.#version = options.protocolVersion;
    this.#maxPacketSize = Math.min(options.maxPacketSize ?? MAX_PACKET_SIZE, MAX_PACKET_SIZE);
    this.#awaitingConnect = options.requireConnectFirst ?? false;
  }

  get protocolVersion(): ProtocolVersion | undefined {
    return this.#version;
  }

  set protocolVersion(version: ProtocolVersion | undefined) {
    this.#version = version;
  }

  /** Bytes allocated for a split packet's body (at most twice what arrived of it, and 64 KB). */
  get reservedBytes(): number {
    return this.#body?.length ?? 0;
  }

  /** Bytes held back waiting for the rest of a packet. */
  get bufferedBytes(): number {
    return this.#headLength + this.#bodyFilled;
  }

  push(chunk: Buffer): Packet[] {
    if (this.#failed) throw this.#failed;
    try {
      return this.#push(chunk);
    } catch (error) {
      if (error instanceof ProtocolError) this.#failed = error;
      throw error;
    }
  }

  #push(chunk: Buffer): Packet[] {
    const packets: Packet[] = [];
    let pos = 0;
    if (this.#body !== undefined) {
      pos = this.#fillBody(chunk, packets);
    } else if (this.#headLength > 0) {
      pos = this.#fillHead(chunk, packets);
    }
    const length = chunk.length;
    if (
      this.#awaitingConnect &&
      pos === 0 &&
      length > 0 &&
      this.#headLength === 0 &&
      this.#body === undefined
    ) {
      this.#checkConnectFirst(chunk[0]!);
    }
    while (pos !== NEED_MORE && pos < length) {
      const first = chunk[pos]!;
      // Remaining Length: at most 4 bytes [MQTT-1.5.5].
      let remaining = 0;
      let multiplier = 1;
      let cursor = pos + 1;
      let complete = false;
      while (cursor < length) {
        const byte = chunk[cursor++]!;
        remaining += (byte & 0x7f) * multiplier;
        if ((byte & 0x80) === 0) {
          complete = true;
          if (byte === 0 && cursor - pos > 2) throw notMinimal();
          break;
        }
        multiplier *= 128;
        if (cursor - pos === 5) throw tooLong();
      }
      if (!complete) {
        this.#head ??= Buffer.alloc(5);
        chunk.copy(this.#head, 0, pos, length);
        this.#headLength = length - pos;
        return packets;
      }
      this.#checkSize(cursor - pos + remaining);
      const end = cursor + remaining;
      if (end <= length) {
        packets.push(this.#decode(first, chunk, cursor, end));
        pos = end;
      } else {
        this.#startBody(first, remaining);
        pos = this.#fillBody(chunk.subarray(cursor), packets);
        return packets;
      }
    }
    return packets;
  }

  /** Adds bytes to a split fixed header; once whole, continues with the body. */
  #fillHead(chunk: Buffer, packets: Packet[]): number {
    // Set: a header is only ever split after the copy into it in #push.
    const head = this.#head!;
    let pos = 0;
    while (pos < chunk.length) {
      const byte = chunk[pos++]!;
      head[this.#headLength++] = byte;
      if (this.#headLength === 1) continue;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && this.#headLength > 2) throw notMinimal();
        const remaining = varintValue(head, this.#headLength);
        const headerLength = this.#headLength;
        this.#headLength = 0;
        this.#checkSize(headerLength + remaining);
        this.#startBody(head[0]!, remaining);
        const used = this.#fillBody(chunk.subarray(pos), packets);
        return used === NEED_MORE ? NEED_MORE : pos + used;
      }
      if (this.#headLength === 5) throw tooLong();
    }
    return NEED_MORE;
  }

  #checkConnectFirst(firstByte: number): void {
    if (firstByte >> 4 !== 1) {
      throw protocolViolationFirst(firstByte);
    }
    this.#awaitingConnect = false;
  }

  /**
   * A body split across chunks. The buffer grows with what arrives (doubling, up to the length
   * the header announced), so a header that claims 256 MB and sends nothing costs 64 KB, not
   * 256 MB: memory follows the bytes received, not the bytes promised.
   */
  #startBody(firstByte: number, remaining: number): void {
    this.#bodyFirstByte = firstByte;
    this.#bodyLength = remaining;
    this.#body = Buffer.allocUnsafe(Math.min(remaining, FIRST_BODY_BYTES));
    this.#bodyFilled = 0;
  }

  /** Copies into the gathered body; returns the bytes of chunk used, or NEED_MORE. */
  #fillBody(chunk: Buffer, packets: Packet[]): number {
    let body = this.#body!;
    const take = Math.min(this.#bodyLength - this.#bodyFilled, chunk.length);
    if (this.#bodyFilled + take > body.length) {
      const grown = Buffer.allocUnsafe(
        Math.min(this.#bodyLength, Math.max(this.#bodyFilled + take, body.length * 2)),
      );
      body.copy(grown, 0, 0, this.#bodyFilled);
      body = grown;
      this.#body = grown;
    }
    chunk.copy(body, this.#bodyFilled, 0, take);
    this.#bodyFilled += take;
    if (this.#bodyFilled < this.#bodyLength) return NEED_MORE;
    this.#body = undefined;
    this.#bodyFilled = 0;
    packets.push(this.#decode(this.#bodyFirstByte, body, 0, this.#bodyLength));
    return take;
  }

  #checkSize(total: number): void {
    if (total > this.#maxPacketSize) {
      throw new ProtocolError(
        'ERR_PACKET_TOO_LARGE',
        `packet of ${total} bytes exceeds the maximum packet size ${this.#maxPacketSize}`,
        ReasonCode.PacketTooLarge,
      );
    }
  }

  #decode(firstByte: number, buf: Buffer, start: number, end: number): Packet {
    const packet = decodePacket(reader.reset(buf, start, end), firstByte, this.#version ?? 4);
    if (packet.type === 'connect') this.#version = packet.protocolVersion;
    return packet;
  }
}

function varintValue(head: Buffer, headLength: number): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 1; i < headLength; i++) {
    value += (head[i]! & 0x7f) * multiplier;
    multiplier *= 128;
  }
  return value;
}

function protocolViolationFirst(firstByte: number): ProtocolError {
  return new ProtocolError(
    'ERR_FIRST_PACKET_NOT_CONNECT',
    `first packet has type ${firstByte >> 4}, not CONNECT (1) [MQTT-3.1.0-1]; the peer may not speak MQTT`,
    ReasonCode.ProtocolError,
  );
}

function notMinimal(): ProtocolError {
  return malformed('ERR_VARINT_NOT_MINIMAL', 'remaining length is not minimally encoded [MQTT-1.5.5-1]');
}

function tooLong(): ProtocolError {
  return malformed('ERR_VARINT_TOO_LONG', 'remaining length is longer than 4 bytes [MQTT-1.5.5]');
}
