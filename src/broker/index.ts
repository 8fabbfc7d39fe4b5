// warden/broker: create and run an MQTT broker.

export type { Message } from './core/message.js';
export type { Logger } from './core/ports.js';
export { type Broker, type BrokerConfig, createBroker, type ListenerConfig } from './create-broker.js';
export type { RunningListener } from './edge/tcp-listener.js';
