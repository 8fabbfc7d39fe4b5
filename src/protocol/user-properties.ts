// User properties stay as their wire bytes until something reads them. A broker forwards them
// unaltered [MQTT-3.3.2-18] and seldom looks inside, yet one packet may carry thousands: decoding
// every name and value into a string made a PUBLISH of 10,000 user properties cost 1.6 ms and
// 1 MB of garbage, which a single client could repeat as fast as it liked (bench:hostile). On
// arrival each one is checked exactly as decoding would check it (lengths, well-formed UTF-8, no
// U+0000), so a bad one still fails its packet; the list is decoded on the first read of
// `properties.userProperties` and written back to the wire as the bytes it came in.

import { WireReader } from './wire-reader.js';

export type UserProperty = readonly [name: string, value: string];

/** The entries (identifier 0x26, name, value), back to back, in the order they came. */
interface WireUserProperties {
  readonly bytes: Buffer;
  readonly count: number;
  decoded: readonly UserProperty[] | undefined;
}

const WIRE = Symbol('user properties as received');

type Carrier = { [WIRE]?: WireUserProperties };

/**
 * Collects a property block's user properties as they are read: the runs of bytes they fill
 * (other properties may sit between them) and their number.
 */
export class UserPropertyScan {
  readonly #buf: Buffer;
  /** Start and end of each run but the last. */
  readonly #runs: number[] = [];
  #runStart = -1;
  #runEnd = -1;
  #count = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  /** Checks the user property whose identifier byte was at `entryStart` and moves `r` past it. */
  add(r: WireReader, entryStart: number): void {
    r.checkUtf8('user property name');
    r.checkUtf8('user property value');
    this.#count++;
    if (entryStart === this.#runEnd) {
      this.#runEnd = r.pos;
      return;
    }
    if (this.#runStart >= 0) this.#runs.push(this.#runStart, this.#runEnd);
    this.#runStart = entryStart;
    this.#runEnd = r.pos;
  }

  /** Gives `props` a `userProperties` decoded on first read. */
  attachTo(props: Record<string, unknown>): void {
    const runs = this.#runs;
    let bytes: Buffer;
    if (runs.length === 0) {
      bytes = this.#buf.subarray(this.#runStart, this.#runEnd);
    } else {
      runs.push(this.#runStart, this.#runEnd);
      let size = 0;
      for (let i = 0; i < runs.length; i += 2) size += runs[i + 1]! - runs[i]!;
      bytes = Buffer.allocUnsafe(size);
      let at = 0;
      for (let i = 0; i < runs.length; i += 2) at += this.#buf.copy(bytes, at, runs[i], runs[i + 1]);
    }
    attach(props, { bytes, count: this.#count, decoded: undefined });
  }
}

function attach(props: Record<string, unknown>, wire: WireUserProperties): void {
  Object.defineProperty(props, WIRE, { value: wire, configurable: true });
  Object.defineProperty(props, 'userProperties', { get: decodeOnRead, enumerable: true, configurable: true });
}

function decodeOnRead(this: Carrier): readonly UserProperty[] {
  const wire = this[WIRE]!;
  if (wire.decoded !== undefined) return wire.decoded;
  const r = new WireReader().reset(wire.bytes, 0, wire.bytes.length);
  const list: UserProperty[] = [];
  while (r.pos < r.end) {
    r.pos++; // the identifier, 0x26
    list.push([r.utf8('user property name'), r.utf8('user property value')]);
  }
  wire.decoded = list;
  return list;
}

/** The user properties' entries as received, while they stand as they came; else undefined. */
export function wireUserProperties(props: object): Buffer | undefined {
  return (props as Carrier)[WIRE]?.bytes;
}

/** How many user properties came on the wire; undefined when they were not received. */
export function wireUserPropertyCount(props: object): number | undefined {
  return (props as Carrier)[WIRE]?.count;
}

/** Gives `to` the user properties `from` received, still undecoded; false when it has none. */
export function shareWireUserProperties(from: object, to: Record<string, unknown>): boolean {
  const wire = (from as Carrier)[WIRE];
  if (wire === undefined) return false;
  attach(to, wire);
  return true;
}
