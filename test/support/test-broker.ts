// A broker on 127.0.0.1, port 0, silent, anonymous clients allowed, for one test file.

import pino from 'pino';
import type { Broker, BrokerConfigInput } from '../../src/broker/index.js';
import { createBroker } from './memory-broker.js';

export async function startTestBroker(
  overrides: Partial<BrokerConfigInput> = {},
): Promise<{ broker: Broker; port: number; url: string }> {
  const broker = await createBroker(
    {
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0 }],
      allowAnonymous: true,
      sysInterval: 0,
      ...overrides,
    },
    pino({ level: 'silent' }),
  );
  const port = broker.listeners[0]!.port;
  return { broker, port, url: `mqtt://127.0.0.1:${port}` };
}
