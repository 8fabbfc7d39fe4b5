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
    .description(
      'run the MQTT broker (MQTT on 127.0.0.1:1883 and MQTT over WebSocket on 127.0.0.1:8080 by default)',
    )
    .option('-p, --port <port>', 'MQTT listener port (0 picks a free one)', port, 1883)
    .option(
      '--ws-port <port>',
      'MQTT over WebSocket listener port, path /mqtt (0 picks a free one)',
      port,
      8080,
    )
    .option('--no-ws', 'no WebSocket listener')
    .option('-H, --host <address>', 'address to listen on', '127.0.0.1')
    .option('-v, --verbose', 'log every connection step (debug level)')
    .action(
      async (options: { port: number; wsPort: number; ws: boolean; host: string; verbose?: boolean }) => {
        const broker = await createBroker({
          listeners: [
            { protocol: 'mqtt', host: options.host, port: options.port },
            ...(options.ws
              ? [{ protocol: 'ws' as const, host: options.host, port: options.wsPort, path: '/mqtt' }]
              : []),
          ],
          logLevel: options.verbose ? 'debug' : 'info',
        });
        for (const l of broker.listeners) console.error(`warden broker listening on ${l.url}`);
        const stop = async (signal: string) => {
          console.error(`warden broker: ${signal}, shutting down`);
          await broker.close();
          process.exit(0);
        };
        process.once('SIGINT', () => void stop('SIGINT'));
        process.once('SIGTERM', () => void stop('SIGTERM'));
      },
    );
}
