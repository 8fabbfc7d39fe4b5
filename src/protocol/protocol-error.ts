// The one error the codec throws: a stable `code` for programs and the MQTT v5 reason code the
// receiver answers with (0x81 malformed, 0x82 protocol error, 0x95 too large, ...). Never anything else.

export type ProtocolErrorCode =
  | 'ERR_TRUNCATED'
  | 'ERR_TRAILING_BYTES'
  | 'ERR_VARINT_TOO_LONG'
  | 'ERR_VARINT_NOT_MINIMAL'
  | 'ERR_INVALID_UTF8'
  | 'ERR_UTF8_NULL'
  | 'ERR_RESERVED_PACKET_TYPE'
  | 'ERR_RESERVED_FLAGS'
  | 'ERR_INVALID_QOS'
  | 'ERR_DUP_ON_QOS0'
  | 'ERR_PACKET_ID_ZERO'
  | 'ERR_PROTOCOL_NAME'
  | 'ERR_UNSUPPORTED_PROTOCOL_VERSION'
  | 'ERR_CONNECT_FLAGS'
  | 'ERR_WILL_FLAGS'
  | 'ERR_PASSWORD_WITHOUT_USERNAME'
  | 'ERR_UNKNOWN_PROPERTY'
  | 'ERR_PROPERTY_NOT_ALLOWED'
  | 'ERR_DUPLICATE_PROPERTY'
  | 'ERR_PROPERTY_VALUE'
  | 'ERR_TOPIC_ALIAS_INVALID'
  | 'ERR_INVALID_REASON_CODE'
  | 'ERR_EMPTY_PAYLOAD'
  | 'ERR_SUBSCRIPTION_OPTIONS'
  | 'ERR_PACKET_TOO_LARGE'
  | 'ERR_AUTH_BEFORE_V5'
  | 'ERR_FIRST_PACKET_NOT_CONNECT'
  | 'ERR_VALUE_OUT_OF_RANGE';

export const MALFORMED_PACKET = 0x81;
export const PROTOCOL_ERROR = 0x82;

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** The v5 reason code a receiver sends (CONNACK or DISCONNECT) before closing. */
  readonly reasonCode: number;

  constructor(code: ProtocolErrorCode, message: string, reasonCode: number = MALFORMED_PACKET) {
    // Without a stack: a malformed packet is the peer's fault, not a place in our code, and a
    // client that sends nothing but bad packets would otherwise make the broker capture a stack
    // trace for each (the larger part of what a refused connection costs).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.code = code;
    this.reasonCode = reasonCode;
  }
}

export function malformed(code: ProtocolErrorCode, message: string): ProtocolError {
  return new ProtocolError(code, message, MALFORMED_PACKET);
}

export function protocolViolation(code: ProtocolErrorCode, message: string): ProtocolError {
  return new ProtocolError(code, message, PROTOCOL_ERROR);
}
