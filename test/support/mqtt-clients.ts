// MQTT.js clients for tests that bring brokers up and down: each reconnects quietly (every
// 200 ms) and is kept in `clients`, so the test's `after` ends them all.

import mqtt, { type MqttClient } from 'mqtt';
import { within } from './processes.js';

/** Connects a 3.1.1 client (options may say otherwise); resolves at its first CONNACK, 15 s at most. */
export function mqttClient(
  clients: MqttClient[],
  url: string,
  clientId: string,
  extra: mqtt.IClientOptions = {},
): Promise<MqttClient> {
  const c = mqtt.connect(url, { clientId, protocolVersion: 4, reconnectPeriod: 200, ...extra });
  c.on('error', () => undefined); // reconnects while its broker is away
  clients.push(c);
  return within(new Promise<MqttClient>((resolve) => c.once('connect', () => resolve(c))), 15_000, clientId);
}
