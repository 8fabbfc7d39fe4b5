// The MQTT 5.0 property table (section 2.2.2.2): identifier, name, wire type, the packets that may
// carry each one and its legal values; and the read and write of a property block.

import { PacketType } from './packet-type.js';
import { malformed, ProtocolError, protocolViolation } from './protocol-error.js';
import { ReasonCode } from './reason-codes.js';
import {
  shareWireUserProperties,
  type UserProperty,
  UserPropertyScan,
  wireUserProperties,
  wireUserPropertyCount,
} from './user-properties.js';
import type { WireReader } from './wire-reader.js';
import { binarySize, MAX_VARINT, outOfRange, utf8Size, varintSize, type WireWriter } from './wire-writer.js';

export type { UserProperty };

export interface Properties {
  readonly payloadFormatIndicator?: number;
  readonly messageExpiryInterval?: number;
  readonly contentType?: string;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  /** Repeatable in PUBLISH; exactly one in SUBSCRIBE. */
  readonly subscriptionIdentifiers?: readonly number[];
  readonly sessionExpiryInterval?: number;
  readonly assignedClientIdentifier?: string;
  readonly serverKeepAlive?: number;
  readonly authenticationMethod?: string;
  readonly authenticationData?: Buffer;
  readonly requestProblemInformation?: number;
  readonly willDelayInterval?: number;
  readonly requestResponseInformation?: number;
  readonly responseInformation?: string;
  readonly serverReference?: string;
  readonly reasonString?: string;
  readonly receiveMaximum?: number;
  readonly topicAliasMaximum?: number;
  readonly topicAlias?: number;
  readonly maximumQoS?: number;
  readonly retainAvailable?: number;
  /** In wire order; names may repeat [MQTT-3.1.3-10]. */
  readonly userProperties?: readonly UserProperty[];
  readonly maximumPacketSize?: number;
  readonly wildcardSubscriptionAvailable?: number;
  readonly subscriptionIdentifiersAvailable?: number;
  readonly sharedSubscriptionAvailable?: number;
}

export type PropertyName = keyof Properties;
type WireType = 'byte' | 'u16' | 'u32' | 'varint' | 'utf8' | 'binary' | 'pair';

/** Where a property block sits: a packet type number, or WILL for CONNECT's will properties. */
export const WILL_CONTEXT = 0;

interface PropertyDef {
  readonly id: number;
  readonly name: PropertyName;
  readonly type: WireType;
  /** Bit n set: allowed in packet type n (bit 0: will properties). */
  readonly contexts: number;
  readonly repeatable: boolean;
  readonly min: number;
  readonly max: number;
  /** The reason code for a value outside [min, max]. */
  readonly invalidReason: number;
}

const P = PacketType;
const bits = (...contexts: number[]) => contexts.reduce((mask, c) => mask | (1 << c), 0);
const ALL = bits(...Object.values(PacketType), WILL_CONTEXT);
const MESSAGE = bits(P.publish, WILL_CONTEXT);

function def(
  id: number,
  name: PropertyName,
  type: WireType,
  contexts: number,
  range: [number, number] = [0, 0],
) {
  const defaults: Record<WireType, [number, number]> = {
    byte: [0, 1],
    u16: [0, 0xffff],
    u32: [0, 0xffffffff],
    varint: [1, MAX_VARINT],
    utf8: [0, 0],
    binary: [0, 0],
    pair: [0, 0],
  };
  const [min, max] = range[1] > 0 ? range : defaults[type];
  return {
    id,
    name,
    type,
    contexts,
    repeatable: type === 'pair' || type === 'varint',
    min,
    max,
    invalidReason: ReasonCode.ProtocolError,
  } satisfies PropertyDef;
}

export const propertyTable: readonly PropertyDef[] = [
  def(0x01, 'payloadFormatIndicator', 'byte', MESSAGE),
  def(0x02, 'messageExpiryInterval', 'u32', MESSAGE),
  def(0x03, 'contentType', 'utf8', MESSAGE),
  def(0x08, 'responseTopic', 'utf8', MESSAGE),
  def(0x09, 'correlationData', 'binary', MESSAGE),
  def(0x0b, 'subscriptionIdentifiers', 'varint', bits(P.publish, P.subscribe)),
  def(0x11, 'sessionExpiryInterval', 'u32', bits(P.connect, P.connack, P.disconnect)),
  def(0x12, 'assignedClientIdentifier', 'utf8', bits(P.connack)),
  def(0x13, 'serverKeepAlive', 'u16', bits(P.connack)),
  def(0x15, 'authenticationMethod', 'utf8', bits(P.connect, P.connack, P.auth)),
  def(0x16, 'authenticationData', 'binary', bits(P.connect, P.connack, P.auth)),
  def(0x17, 'requestProblemInformation', 'byte', bits(P.connect)),
  def(0x18, 'willDelayInterval', 'u32', bits(WILL_CONTEXT)),
  def(0x19, 'requestResponseInformation', 'byte', bits(P.connect)),
  def(0x1a, 'responseInformation', 'utf8', bits(P.connack)),
  def(0x1c, 'serverReference', 'utf8', bits(P.connack, P.disconnect)),
  def(
    0x1f,
    'reasonString',
    'utf8',
    bits(P.connack, P.puback, P.pubrec, P.pubrel, P.pubcomp, P.suback, P.unsuback, P.disconnect, P.auth),
  ),
  def(0x21, 'receiveMaximum', 'u16', bits(P.connect, P.connack), [1, 0xffff]),
  def(0x22, 'topicAliasMaximum', 'u16', bits(P.connect, P.connack)),
  {
    ...def(0x23, 'topicAlias', 'u16', bits(P.publish), [1, 0xffff]),
    invalidReason: ReasonCode.TopicAliasInvalid,
  },
  def(0x24, 'maximumQoS', 'byte', bits(P.connack)),
  def(0x25, 'retainAvailable', 'byte', bits(P.connack)),
  def(0x26, 'userProperties', 'pair', ALL),
  def(0x27, 'maximumPacketSize', 'u32', bits(P.connect, P.connack), [1, 0xffffffff]),
  def(0x28, 'wildcardSubscriptionAvailable', 'byte', bits(P.connack)),
  def(0x29, 'subscriptionIdentifiersAvailable', 'byte', bits(P.connack)),
  def(0x2a, 'sharedSubscriptionAvailable', 'byte', bits(P.connack)),
];

const byId: (PropertyDef | undefined)[] = [];
const byName = new Map<string, PropertyDef>();
for (const d of propertyTable) {
  byId[d.id] = d;
  byName.set(d.name, d);
}

const contextNames = ['will', ...Object.keys(PacketType).map((n) => n.toUpperCase())];
const contextName = (context: number) => contextNames[context] ?? `packet type ${context}`;

/** Reads a property block (length, then properties); undefined when it is empty. */
export function readProperties(r: WireReader, context: number): Properties | undefined {
  const length = r.varint('property length');
  if (length === 0) return undefined;
  const end = r.pos + length;
  if (end > r.end) throw malformed('ERR_TRUNCATED', 'property length runs past the end of the packet');
  const packetEnd = r.end;
  r.end = end; // no property may read past its block
  const props: Record<string, unknown> = {};
  let userProperties: UserPropertyScan | undefined;
  while (r.pos < end) {
    const entryStart = r.pos;
    const id = r.varint('property identifier');
    const d = byId[id];
    if (d === undefined)
      throw malformed('ERR_UNKNOWN_PROPERTY', `unknown property identifier 0x${id.toString(16)}`);
    if ((d.contexts & (1 << context)) === 0) {
      throw protocolViolation(
        'ERR_PROPERTY_NOT_ALLOWED',
        `${d.name} is not allowed in ${contextName(context)}`,
      );
    }
    if (d.type === 'pair') {
      userProperties ??= new UserPropertyScan(r.buf);
      userProperties.add(r, entryStart);
      continue;
    }
    const value = readValue(r, d);
    if (d.repeatable) {
      const list = props[d.name] as unknown[] | undefined;
      if (list === undefined) props[d.name] = [value];
      else list.push(value);
    } else if (props[d.name] !== undefined) {
      throw protocolViolation('ERR_DUPLICATE_PROPERTY', `${d.name} appears more than once`);
    } else {
      props[d.name] = value;
    }
  }
  r.end = packetEnd;
  userProperties?.attachTo(props);
  return props as Properties;
}

/** How many user properties `props` carries, without decoding those still as received. */
export function userPropertyCount(props: Properties | undefined): number {
  if (props === undefined) return 0;
  return wireUserPropertyCount(props) ?? props.userProperties?.length ?? 0;
}

/**
 * `props` with `changes` applied (a value undefined removes that property). Unlike a spread, it
 * leaves user properties still as received undecoded.
 */
export function withProperties(
  props: Properties | undefined,
  changes: { readonly [K in PropertyName]?: Properties[K] | undefined },
): Properties {
  const out: Record<string, unknown> = {};
  const shared = props !== undefined && !('userProperties' in changes) && shareWireUserProperties(props, out);
  for (const name in props) {
    if (name in changes || (shared && name === 'userProperties')) continue;
    out[name] = props[name as PropertyName];
  }
  for (const name in changes) {
    const value = changes[name as PropertyName];
    if (value !== undefined) out[name] = value;
  }
  return out as Properties;
}

function readValue(r: WireReader, d: PropertyDef): unknown {
  switch (d.type) {
    case 'byte':
      return checkRange(d, r.u8(d.name));
    case 'u16':
      return checkRange(d, r.u16(d.name));
    case 'u32':
      return checkRange(d, r.u32(d.name));
    case 'varint':
      return checkRange(d, r.varint(d.name));
    case 'utf8':
      return r.utf8(d.name);
    case 'binary':
      return r.binary(d.name);
    case 'pair':
      throw new Error('user properties are read by UserPropertyScan');
  }
}

function checkRange(d: PropertyDef, value: number): number {
  if (value < d.min || value > d.max) {
    throw new ProtocolError(
      'ERR_PROPERTY_VALUE',
      `${d.name} ${value} is outside ${d.min}..${d.max}`,
      d.invalidReason,
    );
  }
  return value;
}

/** Bytes of a property block's contents (without its length prefix); 0 for none. */
export function propertiesSize(props: Properties | undefined, context: number): number {
  if (props === undefined) return 0;
  let size = 0;
  for (const name in props) {
    if (name === 'userProperties') {
      const wire = wireUserProperties(props);
      if (wire !== undefined) {
        size += wire.length;
        continue;
      }
    }
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const d = byName.get(name);
    if (d === undefined) throw outOfRange(`unknown property ${name}`);
    if ((d.contexts & (1 << context)) === 0) {
      throw new ProtocolError(
        'ERR_PROPERTY_NOT_ALLOWED',
        `${name} is not allowed in ${contextName(context)}`,
      );
    }
    if (d.repeatable) {
      for (const item of value as unknown[]) size += 1 + valueSize(d, item);
    } else {
      size += 1 + valueSize(d, value);
    }
  }
  return size;
}

function valueSize(d: PropertyDef, value: unknown): number {
  switch (d.type) {
    case 'byte':
      return checkEncodable(d, value, 1);
    case 'u16':
      return checkEncodable(d, value, 2);
    case 'u32':
      return checkEncodable(d, value, 4);
    case 'varint':
      return checkEncodable(d, value, varintSize(value as number));
    case 'utf8':
      return utf8Size(value as string, d.name);
    case 'binary':
      return binarySize(value as Uint8Array, d.name);
    case 'pair': {
      const [name, text] = value as UserProperty;
      return utf8Size(name, 'user property name') + utf8Size(text, 'user property value');
    }
  }
}

function checkEncodable(d: PropertyDef, value: unknown, size: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < d.min || value > d.max) {
    throw outOfRange(`${d.name} ${String(value)} is outside ${d.min}..${d.max}`);
  }
  return size;
}

/** Writes the length prefix and the block sized by propertiesSize. */
export function writeProperties(w: WireWriter, props: Properties | undefined, size: number): void {
  w.varint(size);
  if (props === undefined || size === 0) return;
  for (const name in props) {
    if (name === 'userProperties') {
      const wire = wireUserProperties(props);
      if (wire !== undefined) {
        w.bytes(wire);
        continue;
      }
    }
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const d = byName.get(name)!;
    if (d.repeatable) {
      for (const item of value as unknown[]) writeValue(w, d, item);
    } else {
      writeValue(w, d, value);
    }
  }
}

function writeValue(w: WireWriter, d: PropertyDef, value: unknown): void {
  w.u8(d.id);
  switch (d.type) {
    case 'byte':
      w.u8(value as number);
      break;
    case 'u16':
      w.u16(value as number);
      break;
    case 'u32':
      w.u32(value as number);
      break;
    case 'varint':
      w.varint(value as number);
      break;
    case 'utf8':
      w.utf8(value as string);
      break;
    case 'binary':
      w.binary(value as Uint8Array);
      break;
    case 'pair': {
      const [name, text] = value as UserProperty;
      w.utf8(name);
      w.utf8(text);
    }
  }
}
