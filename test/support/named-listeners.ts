// A broker with one listener per name (all on 127.0.0.1, port 0), its JSON log lines collected,
// and each listener's bound port by name: the setup the TLS matrices share.

import pino from 'pino';
import type { Broker, BrokerConfigInput } from '../../src/broker/index.js';
import { createBroker } from './memory-broker.js';

type ListenerInput = BrokerConfigInput['listeners'][number];

export async function brokerWithListeners<N extends string>(
  names: readonly N[],
  listeners: Record<N, ListenerInput>,
  logs: Array<Record<string, unknown>>,
): Promise<{ broker: Broker; port: Record<N, number> }> {
  const broker = await createBroker(
    {
      listeners: names.map((n) => ({ host: '127.0.0.1', ...listeners[n] })),
      allowAnonymous: true,
      sysInterval: 0,
      // These matrices look at each refusal's log line: none thinned out.
      refusalLogSeconds: 0,
    },
    pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
  );
  const port = {} as Record<N, number>;
  names.forEach((n, i) => {
    port[n] = broker.listeners[i]!.port;
  });
  return { broker, port };
}
