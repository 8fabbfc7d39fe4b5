// A broker on 127.0.0.1, port 0, silent, for one test file.

import pino from 'pino';
import { type Broker, createBroker } from '../../src/broker/index.js';

export async function startTestBroker(): Promise<{ broker: Broker; port: number; url: string }> {
  const broker = await createBroker(
    { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0 }] },
    pino({ level: 'silent' }),
  );
  const port = broker.listeners[0]!.port;
  return { broker, port, url: `mqtt://127.0.0.1:${port}` };
}
