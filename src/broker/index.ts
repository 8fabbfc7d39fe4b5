// warden/broker: create and run an MQTT broker, and read its configuration files.

export { ConfigError } from './config/config-error.js';
export type { BrokerConfig, BrokerConfigInput, ListenerConfig } from './config/config-schema.js';
export { loadConfigFile } from './config/load-config-file.js';
export { validateConfig } from './config/validate-config.js';
export type { Message } from './core/message.js';
export type { Logger } from './core/ports.js';
export { type Broker, createBroker } from './create-broker.js';
export type { RunningListener } from './edge/tcp-listener.js';
