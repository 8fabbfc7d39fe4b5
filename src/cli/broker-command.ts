// `warden broker`: runs the broker. Flags as mosquitto's: -p port, -v verbose.

import { Command, InvalidArgumentError } from 'commander';
import { createBroker } from '../broker/index.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`"${value}" is not a port (0..65535)`);
  return n;
}

export function brokerCommand(): Command {
  return new Command('broker')
    .description('run the MQTT broker (plain MQTT on 127.0.0.1:1883 by default)')
    .option('-p, --port <port>', 'MQTT listener port (0 picks a free one)', port, 1883)
    .option('-H, --host <address>', 'address to listen on', '127.0.0.1')
    .option('-v, --verbose', 'log every connection step (debug level)')
    .action(async (options: { port: number; host: string; verbose?: boolean }) => {
      const broker = await createBroker({
        listeners: [{ protocol: 'mqtt', host: options.host, port: options.port }],
        logLevel: options.verbose ? 'debug' : 'info',
      });
      for (const l of broker.listeners)
        console.error(`warden broker listening on ${l.protocol}://${l.host}:${l.port}`);
      const stop = async (signal: string) => {
        console.error(`warden broker: ${signal}, shutting down`);
        await broker.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
