// warden/client: connect to an MQTT broker over TCP or TLS, one verified stage at a time.

export { ClientError, type ClientErrorCode } from './client-error.js';
export type { ConnectionStage, StageEvent } from './connection-stage.js';
export { type ConnectOptions, connect, MqttClient, type ReceivedMessage } from './mqtt-client.js';
