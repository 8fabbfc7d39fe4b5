// Why a connection failed, as a typed error with a stable code and the stage it failed in.

import { reasonCodeName } from '../protocol/index.js';
import type { ConnectionStage } from './connection-stage.js';

export type ClientErrorCode =
  | 'ERR_TCP_CONNECT'
  | 'ERR_TLS_HANDSHAKE'
  | 'ERR_TLS_CERT_EXPIRED'
  | 'ERR_TLS_CERT_NOT_YET_VALID'
  | 'ERR_TLS_UNKNOWN_CA'
  | 'ERR_TLS_CERT_REVOKED'
  | 'ERR_TLS_HOSTNAME_MISMATCH'
  | 'ERR_TLS_CERT_INVALID'
  | 'ERR_TLS_PIN_MISMATCH'
  | 'ERR_TLS_TRUST_REFUSED'
  | 'ERR_TLS_CONFIG'
  | 'ERR_WEBSOCKET_UPGRADE'
  | 'ERR_CONNACK_REFUSED'
  | 'ERR_AUTH_FAILED'
  | 'ERR_CONNACK_TIMEOUT'
  | 'ERR_PROTOCOL'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_CLIENT_ENDED'
  | 'ERR_OFFLINE_QUEUE_FULL'
  | 'ERR_TIMEOUT';

export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;
  /** The stage in progress when it failed. */
  readonly stage: ConnectionStage;
  /** CONNACK / DISCONNECT reason code, when the broker gave one. */
  readonly reasonCode: number | undefined;

  constructor(code: ClientErrorCode, stage: ConnectionStage, message: string, reasonCode?: number) {
    super(message);
    this.code = code;
    this.stage = stage;
    this.reasonCode = reasonCode;
  }
}

const V3_CONNACK = [
  'accepted',
  'unacceptable protocol version',
  'identifier rejected',
  'server unavailable',
  'bad user name or password',
  'not authorized',
];

/** A CONNACK code in words: the v5 reason code, or the v3.1.1 return code. */
export function connackReasonName(version: number, code: number): string {
  if (code === 0) return 'accepted';
  return version === 5 ? reasonCodeName(code) : (V3_CONNACK[code] ?? 'unknown');
}
