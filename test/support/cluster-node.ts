// What the cluster tests share: a warden node of a cluster on a test Redis, in this process,
// and an MQTT.js client (v5, a persistent session of 5 minutes unless told) that records what it
// receives from before its CONNACK (a queued message may come with it).

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import type { Broker, BrokerConfigInput } from '../../src/broker/index.js';
import { createBroker } from './memory-broker.js';
import { within } from './processes.js';

/** A node on one loopback listener; TEST_LOG=info shows its log. */
export const clusterNode = (redisUrl: string, nodeId: string, extra: Partial<BrokerConfigInput> = {}) =>
  createBroker(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      allowAnonymous: true,
      sysInterval: 0,
      ...extra,
      cluster: { redis: redisUrl, nodeId, ...extra.cluster },
    },
    pino({ level: process.env.TEST_LOG ?? 'silent' }),
  );

export interface Recording {
  client: MqttClient;
  sessionPresent: boolean;
  messages: Array<{ topic: string; payload: string; qos: number }>;
}

/** Connects to a node (or a port) and resolves at CONNACK. */
export function connectRecording(
  to: Broker | number,
  clientId: string,
  extra: IClientOptions = {},
): Promise<Recording> {
  const port = typeof to === 'number' ? to : to.listeners[0]!.port;
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 300 },
    reconnectPeriod: 0,
    resubscribe: false,
    ...extra,
  });
  client.on('error', () => undefined); // a killed node's socket errors; refusals reject below
  const messages: Recording['messages'] = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), qos: packet.qos }),
  );
  return within(
    new Promise((resolve, reject) => {
      client.once('connect', (connack) =>
        resolve({ client, sessionPresent: connack.sessionPresent, messages }),
      );
      if (extra.reconnectPeriod === undefined || extra.reconnectPeriod === 0) client.once('error', reject);
    }),
    10_000,
    `${clientId} connects`,
  );
}
