// Every MQTT v3 CONNACK return code and v5 reason code by name, and which codes each v5 packet
// may carry (MQTT 5.0 section 2.4), so decoders can refuse a code the spec does not allow.

/** MQTT 3.1 / 3.1.1 CONNACK return codes. */
export const ConnectReturnCode = {
  Accepted: 0x00,
  UnacceptableProtocolVersion: 0x01,
  IdentifierRejected: 0x02,
  ServerUnavailable: 0x03,
  BadUserNameOrPassword: 0x04,
  NotAuthorized: 0x05,
} as const;

/** MQTT 3.1.1 SUBACK failure return code. */
export const SubackFailure = 0x80;

/** MQTT 5.0 reason codes (section 2.4). Several names share a value, as in the spec. */
export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

const R = ReasonCode;

/** The reason codes each v5 packet may carry. */
export const reasonCodesByPacket = {
  connack: [
    R.Success,
    R.UnspecifiedError,
    R.MalformedPacket,
    R.ProtocolError,
    R.ImplementationSpecificError,
    R.UnsupportedProtocolVersion,
    R.ClientIdentifierNotValid,
    R.BadUserNameOrPassword,
    R.NotAuthorized,
    R.ServerUnavailable,
    R.ServerBusy,
    R.Banned,
    R.BadAuthenticationMethod,
    R.TopicNameInvalid,
    R.PacketTooLarge,
    R.QuotaExceeded,
    R.PayloadFormatInvalid,
    R.RetainNotSupported,
    R.QoSNotSupported,
    R.UseAnotherServer,
    R.ServerMoved,
    R.ConnectionRateExceeded,
  ],
  puback: [
    R.Success,
    R.NoMatchingSubscribers,
    R.UnspecifiedError,
    R.ImplementationSpecificError,
    R.NotAuthorized,
    R.TopicNameInvalid,
    R.PacketIdentifierInUse,
    R.QuotaExceeded,
    R.PayloadFormatInvalid,
  ],
  pubrel: [R.Success, R.PacketIdentifierNotFound],
  suback: [
    R.GrantedQoS0,
    R.GrantedQoS1,
    R.GrantedQoS2,
    R.UnspecifiedError,
    R.ImplementationSpecificError,
    R.NotAuthorized,
    R.TopicFilterInvalid,
    R.PacketIdentifierInUse,
    R.QuotaExceeded,
    R.SharedSubscriptionsNotSupported,
    R.SubscriptionIdentifiersNotSupported,
    R.WildcardSubscriptionsNotSupported,
  ],
  unsuback: [
    R.Success,
    R.NoSubscriptionExisted,
    R.UnspecifiedError,
    R.ImplementationSpecificError,
    R.NotAuthorized,
    R.TopicFilterInvalid,
    R.PacketIdentifierInUse,
  ],
  disconnect: [
    R.NormalDisconnection,
    R.DisconnectWithWillMessage,
    R.UnspecifiedError,
    R.MalformedPacket,
    R.ProtocolError,
    R.ImplementationSpecificError,
    R.NotAuthorized,
    R.ServerBusy,
    R.ServerShuttingDown,
    R.KeepAliveTimeout,
    R.SessionTakenOver,
    R.TopicFilterInvalid,
    R.TopicNameInvalid,
    R.ReceiveMaximumExceeded,
    R.TopicAliasInvalid,
    R.PacketTooLarge,
    R.MessageRateTooHigh,
    R.QuotaExceeded,
    R.AdministrativeAction,
    R.PayloadFormatInvalid,
    R.RetainNotSupported,
    R.QoSNotSupported,
    R.UseAnotherServer,
    R.ServerMoved,
    R.SharedSubscriptionsNotSupported,
    R.ConnectionRateExceeded,
    R.MaximumConnectTime,
    R.SubscriptionIdentifiersNotSupported,
    R.WildcardSubscriptionsNotSupported,
  ],
  auth: [R.Success, R.ContinueAuthentication, R.ReAuthenticate],
} as const satisfies Record<string, readonly number[]>;

export type ReasonCodeContext = keyof typeof reasonCodesByPacket;

// Bitsets over 0..255: one lookup per decoded reason code, no array scan.
const allowed: Record<ReasonCodeContext, Uint8Array> = Object.fromEntries(
  Object.entries(reasonCodesByPacket).map(([context, codes]) => {
    const set = new Uint8Array(256);
    for (const code of codes) set[code] = 1;
    return [context, set];
  }),
) as Record<ReasonCodeContext, Uint8Array>;

export function isReasonCodeAllowed(context: ReasonCodeContext, code: number): boolean {
  return allowed[context][code] === 1;
}

// The name to show a person, per packet, for values that several names share.
const namesByValue = new Map<number, string[]>();
for (const [name, value] of Object.entries(ReasonCode)) {
  const names = namesByValue.get(value) ?? [];
  names.push(name);
  namesByValue.set(value, names);
}

/** A human name for a v5 reason code, e.g. 0x87 -> "NotAuthorized"; shared values list every name. */
export function reasonCodeName(code: number): string {
  const names = namesByValue.get(code);
  return names ? names.join('/') : `Unknown(0x${code.toString(16).padStart(2, '0')})`;
}
