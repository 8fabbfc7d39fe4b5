// The fixed header's packet type numbers (MQTT 5.0 section 2.1.2), by name.

/** Fixed-header packet type numbers (MQTT 5.0 section 2.1.2). */
export const PacketType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;
export type PacketTypeName = keyof typeof PacketType;
