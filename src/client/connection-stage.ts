// The stages of an MQTT (over TLS) connection, in order, and the timestamped event for each, so a
// program can show how far a connection got and how long each step took.

export type ConnectionStage =
  | 'tcp-connecting'
  | 'tls-handshaking'
  | 'certificate-verified'
  | 'secure'
  /** ws:// and wss:// only: the HTTP upgrade to a WebSocket carrying MQTT. */
  | 'websocket-upgrading'
  | 'connect-sent'
  | 'connected'
  | 'disconnected'
  | 'reconnecting';

export interface StageEvent {
  readonly stage: ConnectionStage;
  /** Epoch milliseconds when the stage began. */
  readonly at: number;
  /** Milliseconds since the connection attempt started. */
  readonly elapsedMs: number;
  /** What was learned at this stage: peer address, certificate subject, TLS version and cipher, ... */
  readonly detail?: string;
}
