// `warden broker`: runs the broker. Flags as mosquitto's: -c config file, -p port, -v verbose.
// Without -c it is the README's quick start: MQTT and MQTT over WebSocket on loopback, where
// anonymous clients are let in; a non-loopback address without a config refuses them.

import { hostname } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import {
  AclSyntaxError,
  type Broker,
  type BrokerConfigInput,
  ConfigError,
  createBroker,
  loadConfigFile,
  PasswordFileError,
  readConfigFile,
  StoreError,
  validateConfig,
} from '../broker/index.js';
import { BrokerProcessError, dropPrivileges, removePidFile, writePidFile } from './broker-process.js';
import { runWorkers, tellReady, workerNumber } from './broker-workers.js';

interface BrokerOptions {
  config?: string;
  port?: number;
  wsPort?: number;
  ws: boolean;
  tlsPort?: number;
  tls: boolean;
  dataDir?: string;
  persistence: boolean;
  host: string;
  verbose?: boolean;
  testConfig?: boolean;
  adminPort?: number;
  adminTokenFile?: string;
  cluster?: string;
  nodeId?: string;
  workers?: number;
}

/** --cluster / --node-id over the file's cluster block. */
function clusterFromFlags(
  options: BrokerOptions,
  file?: BrokerConfigInput['cluster'],
): Pick<BrokerConfigInput, 'cluster'> {
  if (options.cluster === undefined && options.nodeId === undefined) return file ? { cluster: file } : {};
  const redis = options.cluster ?? file?.redis;
  if (redis === undefined)
    throw new ConfigError(['--node-id needs --cluster (or cluster.redis in the file)']);
  return { cluster: { ...file, redis, ...(options.nodeId !== undefined && { nodeId: options.nodeId }) } };
}

/** --admin-port / --admin-token-file over the file's admin block (loopback unless the file says otherwise). */
function adminFromFlags(
  options: BrokerOptions,
  file?: BrokerConfigInput['admin'],
): Pick<BrokerConfigInput, 'admin'> {
  if (options.adminPort === undefined && options.adminTokenFile === undefined)
    return file ? { admin: file } : {};
  const port = options.adminPort ?? file?.port;
  if (port === undefined)
    throw new ConfigError(['--admin-token-file needs --admin-port (or admin.port in the file)']);
  return {
    admin: {
      ...file,
      port,
      ...(options.adminTokenFile !== undefined && { tokenFile: options.adminTokenFile }),
    },
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`"${value}" is not a port (0..65535)`);
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new InvalidArgumentError(`"${value}" is not a count (1..256)`);
  return n;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** The configuration the flags describe: the file's, plus any listener the flags add. */
async function configFromFlags(options: BrokerOptions): Promise<BrokerConfigInput> {
  const verbose = options.verbose ? { logLevel: 'debug' as const } : {};
  if (options.config !== undefined) {
    const file = await loadConfigFile(options.config);
    // As mosquitto: -p listens on that port in addition to the file's listeners.
    const extra = [
      ...(options.port === undefined
        ? []
        : [{ protocol: 'mqtt' as const, host: options.host, port: options.port }]),
      ...(options.wsPort === undefined
        ? []
        : [{ protocol: 'ws' as const, host: options.host, port: options.wsPort }]),
      ...(options.tlsPort === undefined
        ? []
        : [{ protocol: 'mqtt' as const, host: options.host, port: options.tlsPort, tls: {} }]),
    ];
    const memory = options.persistence ? {} : { persistence: { ...file.persistence, enabled: false } };
    return {
      ...file,
      listeners: [...file.listeners, ...extra],
      ...memory,
      ...verbose,
      ...adminFromFlags(options, file.admin),
      ...clusterFromFlags(options, file.cluster),
    };
  }
  // As `mosquitto -p`: a port named on the command line means that listener only; the three
  // listeners of the quick start are the default when none is named.
  const named = options.port !== undefined || options.tlsPort !== undefined || options.wsPort !== undefined;
  const mqttPort = named ? options.port : 1883;
  const tlsPort = named ? options.tlsPort : 8883;
  const wsPort = named ? options.wsPort : 8080;
  return {
    listeners: [
      ...(mqttPort !== undefined ? [{ protocol: 'mqtt' as const, host: options.host, port: mqttPort }] : []),
      ...(options.tls && tlsPort !== undefined
        ? [{ protocol: 'mqtt' as const, host: options.host, port: tlsPort, tls: {} }]
        : []),
      ...(options.ws && wsPort !== undefined
        ? [{ protocol: 'ws' as const, host: options.host, port: wsPort }]
        : []),
    ],
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.persistence ? {} : { persistence: { enabled: false } }),
    allowAnonymous: isLoopback(options.host),
    ...verbose,
    ...adminFromFlags(options),
    ...clusterFromFlags(options),
  };
}

/**
 * --test-config: the configuration in effect as YAML on stdout, the file:line behind each
 * mosquitto.conf setting, the notes on directives accepted without effect; exit 0, or 1 with
 * every problem.
 */
async function testConfig(options: BrokerOptions): Promise<number> {
  try {
    const origins = options.config
      ? (await readConfigFile(options.config)).origins
      : new Map<string, string>();
    const config = validateConfig(await configFromFlags(options));
    process.stdout.write(stringify(config));
    if (origins.size > 0) {
      process.stdout.write('# set by:\n');
      for (const [path, where] of [...origins].sort()) process.stdout.write(`#   ${path}: ${where}\n`);
    }
    for (const note of config.notes) console.error(`warning: ${note}`);
    console.error(`warden broker: ${options.config ?? 'the command line'}: configuration OK`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`warden broker: ${error.message}`);
    return 1;
  }
}

/** Where state is kept and what came back from there, in one line. */
function storeLine(store: Broker['store']): string {
  if (!store.durable) return 'persistence off: sessions and retained messages are lost at exit';
  const r = store.recovered;
  return (
    `store ${store.location}: recovered ${r.sessions} session(s), ${r.subscriptions} subscription(s), ` +
    `${r.queued + r.inFlight} queued message(s) (${r.inFlight} in flight), ${r.retained} retained ` +
    `in ${store.recoveryMs} ms; ${r.expiredSessions} session(s) expired, ${r.willsPublished} will(s) published`
  );
}

export function brokerCommand(): Command {
  return new Command('broker')
    .description(
      'run the MQTT broker (by default on 127.0.0.1: MQTT 1883, MQTT over TLS 8883, MQTT over WebSocket 8080; naming a port serves only the listeners named)',
    )
    .option('-c, --config <file>', 'configuration file: .yaml/.yml/.json (warden schema) or mosquitto.conf')
    .option('-p, --port <port>', 'MQTT listener port, default 1883 (0 picks a free one)', port)
    .option('--ws-port <port>', 'MQTT over WebSocket listener port, path /mqtt, default 8080', port)
    .option('--no-ws', 'no WebSocket listener')
    .option(
      '--tls-port <port>',
      'MQTT over TLS port, default 8883 (certificate from the development CA)',
      port,
    )
    .option('--no-tls', 'no MQTT over TLS listener')
    .option(
      '--data-dir <dir>',
      'where the store (warden.mdb) and generated files (the development CA) are kept, default .warden-data',
    )
    .option('--no-persistence', 'keep sessions and retained messages in memory only (lost at exit)')
    .option(
      '--admin-port <port>',
      'admin HTTP listener on 127.0.0.1: /metrics, /api, /healthz, /readyz, the dashboard',
      port,
    )
    .option(
      '--cluster <url>',
      'join a cluster on Redis: redis://[user:password@]host:port (rediss:// for TLS)',
    )
    .option('--node-id <name>', "this node's name in the cluster (default: a random one)")
    .option(
      '--workers <n>',
      'run N cluster nodes sharing the ports, one per core (needs --cluster; node ids <node-id>-1..N)',
      count,
    )
    .option(
      '--admin-token-file <file>',
      'the admin listener asks every request for the bearer token in this file',
    )
    .option('-H, --host <address>', 'address to listen on', '127.0.0.1')
    .option('-v, --verbose', 'log every connection step (debug level)')
    .option(
      '--test-config',
      'check the configuration, print it in effect (and where each setting came from), exit 0 or 1',
    )
    .action(async (options: BrokerOptions) => {
      if (options.testConfig) {
        process.exit(await testConfig(options));
      }
      if ((options.workers ?? 1) > 1) {
        if (options.cluster === undefined) {
          console.error('warden broker: --workers needs --cluster: the workers are nodes of one cluster');
          process.exit(1);
        }
        const n = workerNumber();
        if (n === undefined) {
          runWorkers(options.workers!);
          return;
        }
        options.nodeId = `${options.nodeId ?? hostname()}-${n}`;
        if (options.adminPort !== undefined && options.adminPort !== 0) options.adminPort += n - 1;
      }
      let broker: Awaited<ReturnType<typeof createBroker>>;
      try {
        const config = validateConfig(await configFromFlags(options));
        const credentials =
          config.passwordFile !== undefined ||
          config.listeners.some(
            (l) => l.passwordFile || (l.tls && (l.tls.clientCertificates !== 'none' || l.tls.pskFile)),
          );
        if (
          !config.allowAnonymous &&
          !credentials &&
          config.listeners.every((l) => l.allowAnonymous !== true)
        )
          console.error(
            'warden broker: anonymous clients are refused and no credential source is configured yet; every client will be refused',
          );
        broker = await createBroker(config);
        if (config.pidFile) writePidFile(config.pidFile);
        if (config.user && dropPrivileges(config.user))
          console.error(`warden broker: running as user ${config.user}`);
      } catch (error) {
        // A ConfigError or a listener that cannot bind names its own cause; anything else is a bug.
        if (
          !(error instanceof ConfigError) &&
          !(error instanceof PasswordFileError) &&
          !(error instanceof AclSyntaxError) &&
          !(error instanceof StoreError) &&
          !(error instanceof BrokerProcessError) &&
          !/^(listener|admin:|cluster:) /.test((error as Error).message)
        )
          throw error;
        console.error(`warden broker: ${(error as Error).message}`);
        process.exit(1);
      }
      // Signals first: a supervisor may act as soon as it reads the listening lines.
      const stop = async (signal: string) => {
        console.error(`warden broker: ${signal}, shutting down`);
        await broker.close();
        if (broker.config.pidFile) removePidFile(broker.config.pidFile);
        process.exit(0);
      };
      process.on('SIGHUP', () => {
        void broker.reloadSecurity().then((results) => {
          for (const r of results)
            console.error(`warden broker: SIGHUP reload ${r.file}: ${r.ok ? 'ok' : r.error}`);
        });
        void broker.reloadTls().then((results) => {
          for (const r of results)
            console.error(
              `warden broker: SIGHUP reload ${r.listener}: ${r.ok ? `ok, ${r.revoked} revoked client(s) disconnected` : r.error}`,
            );
        });
      });
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      for (const l of broker.listeners) console.error(`warden broker listening on ${l.url}`);
      tellReady();
      console.error(`warden broker: ${storeLine(broker.store)}`);
      if (broker.admin)
        console.error(
          `warden broker: admin on ${broker.admin.url}: dashboard at /, /metrics, /api, /healthz, /readyz`,
        );
      const dev = broker.developmentCa;
      const tlsListener = broker.listeners.find((l) => l.protocol === 'mqtts');
      if (dev) {
        console.error(
          `warden broker: TLS certificate from the development CA ${dev.caFile}${dev.created ? ' (new)' : ''}`,
        );
        if (tlsListener)
          console.error(
            `  try: mosquitto_sub --cafile ${dev.caFile} -h localhost -p ${tlsListener.port} -t '#' -v`,
          );
      }
    });
}
