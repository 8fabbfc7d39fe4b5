// The check that two bridged brokers do not loop: a message published on each side of a "both"
// topic arrives exactly once on each side. Absence is proved by sentinels in causal order, not by
// waiting: "there" publishes its sentinel only once "here"'s has passed through the bridge, so
// any echo of the first messages (which the brokers would have sent before) has arrived by then.

import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { until } from './processes.js';

/** `here` and `there` are subscribed to `${base}/#` on their brokers, bridged both ways. */
export async function assertNoLoop(
  here: { client: MqttClient; got: string[] },
  there: { client: MqttClient; got: string[] },
  base: string,
): Promise<void> {
  const a = `${base}/a from here`;
  const b = `${base}/b from there`;
  await here.client.publishAsync(`${base}/a`, 'from here', { qos: 1 });
  await there.client.publishAsync(`${base}/b`, 'from there', { qos: 1 });
  await until('each message at the other side', () => there.got.includes(a) && here.got.includes(b), 10_000);
  await here.client.publishAsync(`${base}/end`, 'here', { qos: 1 });
  await until("here's sentinel there", () => there.got.includes(`${base}/end here`), 10_000);
  await there.client.publishAsync(`${base}/end`, 'there', { qos: 1 });
  await until("there's sentinel here", () => here.got.includes(`${base}/end there`), 10_000);
  const count = (list: string[], m: string) => list.filter((x) => x === m).length;
  for (const list of [here.got, there.got]) {
    assert.equal(count(list, a), 1, `${a}: ${list.join(', ')}`);
    assert.equal(count(list, b), 1, `${b}: ${list.join(', ')}`);
  }
}
