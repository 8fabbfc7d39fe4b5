// The reason codes MQTT.js hands back for a publish or a subscription, whichever way it reports
// them (a refusal arrives as an error carrying the code or the SUBACK), within 5 s.

import type mqtt from 'mqtt';
import { within } from './processes.js';

/** The PUBACK (QoS 1) or PUBREC (QoS 2) reason code of one publish; 0 when accepted. */
export const publishAckCode = (client: mqtt.MqttClient, topic: string, payload: string, qos: 1 | 2 = 1) =>
  within(
    new Promise<number>((resolve) =>
      client.publish(topic, payload, { qos }, (error, packet) =>
        resolve(
          (packet as { reasonCode?: number } | undefined)?.reasonCode ??
            (error as { code?: number })?.code ??
            0,
        ),
      ),
    ),
    5000,
    `${qos === 1 ? 'PUBACK' : 'QoS 2 flow'} for ${topic}`,
  );

/** The SUBACK code of one filter subscribed at QoS 1. */
export const subackCode = (client: mqtt.MqttClient, filter: string) =>
  within(
    new Promise<number | undefined>((resolve) =>
      client.subscribe(filter, { qos: 1 }, (error, granted) =>
        resolve(
          error ? (error as { packet?: { granted?: number[] } }).packet?.granted?.[0] : granted?.[0]?.qos,
        ),
      ),
    ),
    5000,
    `SUBACK for ${filter}`,
  );
