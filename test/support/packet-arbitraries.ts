// fast-check generators of valid packets for every type, version and v5 property: shared by the
// round-trip property test and the differential test against mqtt-packet.

import fc from 'fast-check';
import {
  type Packet,
  PacketType,
  type Properties,
  type ProtocolVersion,
  propertyTable,
  reasonCodesByPacket,
} from '../../src/protocol/index.js';

const WILL = 0;
export const text = fc
  .oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }))
  .filter((s) => !s.includes('\u0000'));
// A will topic must be a valid topic name, so never empty [MQTT-3.1.3-11].
const willTopic = text.filter((s) => s.length > 0);
const bytes = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
const packetId = fc.integer({ min: 1, max: 0xffff });
const qos = fc.constantFrom(0 as const, 1 as const, 2 as const);

/** Properties allowed in a context, each present or not; undefined when none is present. */
export function propertiesFor(context: number, options: { oneSubscriptionId?: boolean } = {}) {
  const entries: Record<string, fc.Arbitrary<unknown>> = {};
  for (const def of propertyTable) {
    if ((def.contexts & (1 << context)) === 0) continue;
    switch (def.type) {
      case 'byte':
      case 'u16':
      case 'u32':
        entries[def.name] = fc.integer({ min: def.min, max: def.max });
        break;
      case 'varint':
        entries[def.name] = fc.array(fc.integer({ min: 1, max: 268_435_455 }), {
          minLength: 1,
          maxLength: options.oneSubscriptionId ? 1 : 3,
        });
        break;
      case 'utf8':
        entries[def.name] = text;
        break;
      case 'binary':
        entries[def.name] = bytes;
        break;
      case 'pair':
        // Distinct, non-numeric names: mqtt-packet keeps user properties in an object, where
        // integer-like keys would be reordered. Repeated names are covered by the fixtures.
        entries[def.name] = fc.uniqueArray(
          fc.tuple(
            text.filter((k) => !/^(0|[1-9]\d*)$/.test(k)),
            text,
          ),
          { minLength: 1, maxLength: 3, selector: ([k]) => k },
        );
        break;
    }
  }
  return fc
    .record(entries, { requiredKeys: [] })
    .map((props) => (Object.keys(props).length === 0 ? undefined : (props as Properties)));
}

const v5 = <T>(version: ProtocolVersion, arb: fc.Arbitrary<T>) =>
  version === 5 ? arb : fc.constant(undefined);
const code = (list: readonly number[]) => fc.constantFrom(...list);

function compact<T extends object>(packet: T): T {
  return Object.fromEntries(Object.entries(packet).filter(([, v]) => v !== undefined)) as T;
}

export function packetFor(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const P = PacketType;
  const connect = fc
    .record({
      clean: fc.boolean(),
      keepAlive: fc.integer({ min: 0, max: 0xffff }),
      clientId: text,
      will: fc.option(
        fc.record({
          topic: willTopic,
          payload: bytes,
          qos,
          retain: fc.boolean(),
          properties: v5(version, propertiesFor(WILL)),
        }),
        { nil: undefined },
      ),
      username: fc.option(text, { nil: undefined }),
      password: fc.option(bytes, { nil: undefined }),
      properties: v5(version, propertiesFor(P.connect)),
    })
    .map((c) => {
      const password = version !== 5 && c.username === undefined ? undefined : c.password;
      const will = c.will ? compact(c.will) : undefined;
      return compact({
        type: 'connect' as const,
        protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: version,
        ...c,
        will,
        password,
      });
    });
  const connack = fc
    .record({
      sessionPresent: fc.boolean(),
      reasonCode: version === 5 ? code(reasonCodesByPacket.connack) : fc.integer({ min: 0, max: 5 }),
      properties: v5(version, propertiesFor(P.connack)),
    })
    .map((c) => compact({ type: 'connack' as const, ...c }));
  const publish = fc
    .record({
      topic: text,
      payload: fc.oneof(
        bytes,
        fc.uint8Array({ minLength: 100, maxLength: 70_000 }).map((a) => Buffer.from(a)),
      ),
      qos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId,
      properties: v5(version, propertiesFor(P.publish)),
    })
    .map((p) =>
      compact({
        type: 'publish' as const,
        ...p,
        dup: p.qos > 0 && p.dup,
        packetId: p.qos > 0 ? p.packetId : undefined,
      }),
    );
  const ack = (type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp') => {
    const codes =
      type === 'puback' || type === 'pubrec' ? reasonCodesByPacket.puback : reasonCodesByPacket.pubrel;
    return fc
      .record({
        packetId,
        reasonCode: v5(version, code(codes)),
        properties: v5(version, propertiesFor(P[type])),
      })
      .map((a) => compact({ type, ...a, reasonCode: a.properties ? (a.reasonCode ?? 0) : a.reasonCode }));
  };
  const subscribe = fc
    .record({
      packetId,
      subscriptions: fc.array(
        fc.record({
          topicFilter: text,
          qos,
          noLocal: version === 5 ? fc.boolean() : fc.constant(false),
          retainAsPublished: version === 5 ? fc.boolean() : fc.constant(false),
          retainHandling:
            version === 5 ? fc.constantFrom(0 as const, 1 as const, 2 as const) : fc.constant(0 as const),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      properties: v5(version, propertiesFor(P.subscribe, { oneSubscriptionId: true })),
    })
    .map((s) => compact({ type: 'subscribe' as const, ...s }));
  const suback = fc
    .record({
      packetId,
      reasonCodes: fc.array(version === 5 ? code(reasonCodesByPacket.suback) : code([0, 1, 2, 0x80]), {
        minLength: 1,
        maxLength: 4,
      }),
      properties: v5(version, propertiesFor(P.suback)),
    })
    .map((s) => compact({ type: 'suback' as const, ...s }));
  const unsubscribe = fc
    .record({
      packetId,
      topicFilters: fc.array(text, { minLength: 1, maxLength: 4 }),
      properties: v5(version, propertiesFor(P.unsubscribe)),
    })
    .map((u) => compact({ type: 'unsubscribe' as const, ...u }));
  const unsuback = fc
    .record({
      packetId,
      reasonCodes: v5(version, fc.array(code(reasonCodesByPacket.unsuback), { minLength: 1, maxLength: 4 })),
      properties: v5(version, propertiesFor(P.unsuback)),
    })
    .map((u) => compact({ type: 'unsuback' as const, ...u }));
  const reasonOnly = (type: 'disconnect' | 'auth') =>
    fc
      .record({
        reasonCode: v5(version, code(reasonCodesByPacket[type])),
        properties: v5(version, propertiesFor(P[type])),
      })
      .map((d) => compact({ type, ...d, reasonCode: d.properties ? (d.reasonCode ?? 0) : d.reasonCode }));
  const all: fc.Arbitrary<Packet>[] = [
    connect,
    connack,
    publish,
    ack('puback'),
    ack('pubrec'),
    ack('pubrel'),
    ack('pubcomp'),
    subscribe,
    suback,
    unsubscribe,
    unsuback,
    fc.constant({ type: 'pingreq' as const }),
    fc.constant({ type: 'pingresp' as const }),
    reasonOnly('disconnect'),
  ];
  if (version === 5) all.push(reasonOnly('auth'));
  return fc.oneof(...all);
}

export const versionedPacket = fc
  .constantFrom(3 as const, 4 as const, 5 as const)
  .chain((version) => packetFor(version).map((packet) => ({ version, packet })));
