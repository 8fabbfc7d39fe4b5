// warden/client: connect to an MQTT broker over TCP, TLS or WebSocket, one verified stage at a time.

export { ClientError, type ClientErrorCode, connackReasonName } from './client-error.js';
export type { ConnectOptions, PublishOptions, ReceivedMessage, SubscribeOptions } from './client-options.js';
export type { ConnectionStage, StageEvent } from './connection-stage.js';
export {
  type ClientCertificate,
  openTransport,
  parseTarget,
  reachable,
  type Target,
  type TlsDetails,
  type Transport,
  type TransportOptions,
} from './connector.js';
export {
  type CertificateFacts,
  type DiagnoseOptions,
  type DiagnoseReport,
  type DiagnoseStep,
  diagnose,
} from './diagnose.js';
export { connect, MqttClient } from './mqtt-client.js';
export { type ClientAuthExchange, type ClientAuthMethod, scramSha256 } from './scram-client.js';
export { StageLog } from './stage-log.js';
export {
  normalizePin,
  type PeerInfo,
  spkiSha256,
  type TrustOptions,
  type TrustProvider,
  type TrustVerdict,
} from './trust.js';
