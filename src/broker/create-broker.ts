// The composition root: configuration -> logger, clock, core -> listeners. The only module that
// wires the edge to the core.

import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { MAX_PACKET_SIZE } from '../protocol/index.js';
import { BrokerCore, type CoreOptions, coreDefaults } from './core/broker-core.js';
import { Connection } from './core/connection.js';
import { type Logger, systemClock } from './core/ports.js';
import { listenTcp, type RunningListener } from './edge/tcp-listener.js';
import { listenWs } from './edge/ws-listener.js';

export interface ListenerConfig {
  /** mqtt: MQTT over TCP; ws: MQTT over WebSocket. */
  readonly protocol: 'mqtt' | 'ws';
  readonly host: string;
  /** 0 picks a free port; the bound one is in Broker.listeners. */
  readonly port: number;
  /** WebSocket only: the HTTP path to upgrade (default /mqtt). */
  readonly path?: string;
}

/** Broker-wide limits; each defaults to coreDefaults (Mosquitto's value where it has the setting). */
export type BrokerLimits = Partial<Omit<CoreOptions, 'clock' | 'logger' | 'newClientId'>>;

export interface BrokerConfig extends BrokerLimits {
  readonly listeners: readonly ListenerConfig[];
  readonly logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

export interface Broker {
  readonly listeners: readonly RunningListener[];
  readonly core: BrokerCore;
  /** Disconnects every client (v5: 0x8B) and stops listening. */
  close(): Promise<void>;
}

export async function createBroker(config: BrokerConfig, logger?: Logger): Promise<Broker> {
  const log = logger ?? pino({ level: config.logLevel ?? 'info' });
  const { listeners: listenerConfigs, logLevel: _level, ...limits } = config;
  const core = new BrokerCore({
    ...coreDefaults,
    ...limits,
    clock: systemClock,
    logger: log,
    newClientId: () => `warden-${randomUUID()}`,
  });
  const maxPacketSize = core.options.maxPacketSize || MAX_PACKET_SIZE;
  const accept = (channel: ConstructorParameters<typeof Connection>[1]) => new Connection(core, channel);
  const listeners: RunningListener[] = [];
  try {
    for (const l of listenerConfigs) {
      const common = { host: l.host, port: l.port, maxPacketSize, logger: log };
      listeners.push(
        l.protocol === 'ws'
          ? await listenWs({ ...common, path: l.path ?? '/mqtt' }, accept)
          : await listenTcp(common, accept),
      );
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
  for (const l of listeners) log.info({ url: l.url }, 'listening');
  return {
    listeners,
    core,
    async close() {
      core.shutdown();
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
