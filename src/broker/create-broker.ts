// The composition root: configuration -> logger, clock, core -> listeners, $SYS, metrics and the
// admin listener. The only module that wires the edge to the core.

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { TrustProvider } from '../client/index.js';
import { MAX_PACKET_SIZE } from '../protocol/index.js';
import type { Bridge, BridgeHost, BridgeStatus } from './bridge/bridge.js';
import type { RedisBus } from './cluster/redis-bus.js';
import type { BrokerConfig, BrokerConfigInput } from './config/config-schema.js';
import { validateConfig } from './config/validate-config.js';
import { BrokerCore } from './core/broker-core.js';
import { CoreClusterMember } from './core/cluster-member.js';
import { Connection } from './core/connection.js';
import { listenerPolicy } from './core/listener-policy.js';
import {
  type Authenticator,
  type EnhancedAuthenticator,
  type Logger,
  type PacketChannel,
  systemClock,
} from './core/ports.js';
import type { RunningAdmin } from './edge/admin-listener.js';
import {
  type DevelopmentCertificate,
  developmentCertificate,
  developmentHosts,
} from './edge/development-ca.js';
import type { ProxyOptions } from './edge/proxy-accept.js';
import { RefusalLog } from './edge/refusal-log.js';
import { attachSocket, type SocketChannelOptions } from './edge/socket-channel.js';
import { streamPair } from './edge/stream-pair.js';
import { listenTcp, type RunningListener } from './edge/tcp-listener.js';
import { TlsChannel } from './edge/tls-channel.js';
import { listenTls } from './edge/tls-listener.js';
import type { AdminApiOptions } from './observability/admin-api.js';
import { brokerLogger } from './observability/broker-logger.js';
import type { ListenerView } from './observability/broker-view.js';
import { startSysTopics, sysValues } from './observability/sys-topics.js';
import { openStore, recoverStore, type StoreReport } from './persistence/open-store.js';
import { AuthenticationChain } from './security/authentication-chain.js';
import { LoginThrottle, loginThrottleDefaults } from './security/login-throttle.js';
import { scramSha256 } from './security/scram-sha-256.js';
import { SecurityFiles, type SecurityReload } from './security/security-files.js';
import { type AuthorizerHook, TopicAuthorizer } from './security/topic-authorizer.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface Broker {
  readonly config: BrokerConfig;
  readonly listeners: readonly RunningListener[];
  readonly core: BrokerCore;
  /** Where sessions and retained messages are kept, and what was recovered from there at start. */
  readonly store: StoreReport;
  /** Set when a TLS listener had no certificate and got one from the development CA. */
  readonly developmentCa?: DevelopmentCertificate;
  /** The admin listener (/metrics, /api, /healthz, /readyz), when configured. */
  readonly admin?: { readonly url: string; readonly port: number };
  /** Each bridge's link state and counts. */
  readonly bridges: readonly BridgeStatus[];
  /**
   * Re-reads every TLS listener's certificate, key, CA and CRL files (SIGHUP does this too):
   * validated first, the old kept on failure, no connection dropped; clients a new CRL revokes
   * are disconnected.
   */
  reloadTls(): Promise<Array<{ listener: string; ok: boolean; error?: string; revoked?: number }>>;
  /** Re-reads the password and ACL files (SIGHUP and a change to a file do this too); a bad file keeps the old. */
  reloadSecurity(): Promise<SecurityReload[]>;
  /** Disconnects every client (v5: 0x8B) and stops listening. */
  close(): Promise<void>;
}

/** Library hooks, asked before the password and ACL files (allow / deny / defer, chained in order). */
export interface SecurityHooks {
  readonly authenticate?: readonly Authenticator[];
  readonly authorize?: readonly AuthorizerHook[];
  /** MQTT 5 enhanced authentication methods beside the built-in SCRAM-SHA-256. */
  readonly enhancedAuth?: readonly EnhancedAuthenticator[];
  /**
   * A bridge's trust provider, by bridge name: asked about the remote broker after the TLS
   * handshake, before any MQTT byte, as the client's trustProvider option.
   */
  readonly bridgeTrust?: Readonly<Record<string, TrustProvider | TrustProvider['verify']>>;
}

/** Starts a broker; `config` is validated first (a ConfigError names each bad key path). */
export async function createBroker(
  input: BrokerConfigInput,
  logger?: Logger,
  hooks: SecurityHooks = {},
): Promise<Broker> {
  const config = validateConfig(input);
  const log = logger ?? brokerLogger(config);
  for (const note of config.notes) log.warn({}, note);
  // What is not the core's options, taken out of them (the listeners and security are wired below).
  const {
    listeners: _listeners,
    logLevel: _level,
    logDest: _logDest,
    pidFile: _pidFile,
    user: _user,
    notes: _notes,
    autoIdPrefix,
    allowAnonymous: _allowAnonymous,
    useUsernameAsClientId,
    refuseUnreadableSubscriptions: _refuseUnreadableSubscriptions,
    sysInterval,
    tcpNoDelay,
    passwordFile: _passwordFile,
    aclFile: _aclFile,
    authHookTimeoutMs: _authHookTimeoutMs,
    failedLoginDelay: _failedLoginDelay,
    persistence,
    dataDir: _dataDir,
    cluster: _cluster,
    ...limits
  } = config;
  // The admin listener comes first, so that /readyz can say what the broker is waiting for
  // (recovering a large store takes seconds).
  // What the broker waits for; once it is up, a cluster node is not ready while Redis is away.
  let starting: string | undefined = 'opening the store';
  let bus: RedisBus | undefined;
  const readiness = {
    get notReady(): string | undefined {
      if (starting !== undefined) return starting;
      return bus !== undefined && !bus.up ? 'Redis unreachable' : undefined;
    },
    set notReady(value: string | undefined) {
      starting = value;
    },
  };
  // Packages a feature needs (prom-client, ioredis, ws, the admin pages) load only when it is
  // configured: each costs the idle broker megabytes of heap (README, "Memory").
  const metrics = config.admin ? new (await import('./observability/metrics.js')).BrokerMetrics() : undefined;
  const api: AdminApiOptions | undefined = metrics && { metrics, readiness };
  const admin = config.admin && api ? await startAdmin(config.admin, api, log) : undefined;
  let store: Awaited<ReturnType<typeof openStore>>;
  let core: BrokerCore;
  let storeReport: StoreReport;
  try {
    if (config.cluster) {
      const { redis, nodeId, ...access } = config.cluster;
      const { RedisBus, redactUrl } = await import('./cluster/redis-bus.js');
      bus = await RedisBus.open(redis, nodeId ?? `node-${randomUUID()}`, log, access);
      log.info({ redis: redactUrl(config.cluster.redis), nodeId: bus.nodeId }, 'cluster: joined');
    }
    // A cluster node keeps its sessions and retained messages in Redis, where every node has them.
    store = bus ? bus.store : await openStore(config, log);
    core = new BrokerCore({
      ...limits,
      clock: systemClock,
      store,
      logger: log,
      newClientId: () => `${autoIdPrefix}${randomUUID()}`,
      observeCommit: metrics?.observeCommit,
      ...(bus && { cluster: bus }),
    });
    readiness.notReady = 'recovering the store';
    storeReport = await recoverStore(core, store, log);
  } catch (error) {
    await bus?.close();
    await admin?.close();
    throw error;
  }
  const readyCore = core;
  bus?.start(new CoreClusterMember(readyCore));
  readiness.notReady = 'binding listeners';
  if (persistence.autosave)
    log.info(
      { store: store.location },
      'autosave_interval / autosave_on_changes have no effect: every change is committed before it is acknowledged',
    );
  const refusals =
    config.refusalLogSeconds > 0 ? new RefusalLog(log, config.refusalLogSeconds * 1000) : undefined;
  const channelOptions = {
    refusals,
    maxPacketSize: config.maxPacketSize || MAX_PACKET_SIZE,
    tcpNoDelay,
    logger: log,
    stats: core.stats,
    observer: metrics?.edge,
  };
  const listeners: RunningListener[] = [];
  const tlsFactory = tlsChannelFactory(config, log);
  const channels = tlsFactory.channels;
  const tlsChannel = tlsFactory.open;
  const tlsPorts = new Map<TlsChannel, number>();
  const listenerInfo: ListenerView[] = [];
  const securityFiles = new SecurityFiles(log);
  const security = listenerSecurity(config, hooks, securityFiles, log);
  try {
    for (const l of config.listeners) {
      const policy = listenerPolicy(`${l.protocol}://${l.host}:${l.port}`, {
        maxConnections: l.maxConnections,
        useUsernameAsClientId: l.useUsernameAsClientId ?? useUsernameAsClientId,
        ...(await security(l)),
      });
      const accept = (channel: PacketChannel) => new Connection(core, channel, policy);
      const common = {
        ...channelOptions,
        host: l.host,
        port: l.port,
        connectionLimits: {
          maxPending: l.maxPendingConnects || Number.POSITIVE_INFINITY,
          maxPerAddress: l.maxConnectionsPerAddress || Number.POSITIVE_INFINITY,
          connected: () => policy.connected,
        },
      };
      const proxied = l.proxyProtocol ? { proxy: proxyOptions(l, l.proxyProtocol) } : {};
      const tls = await tlsChannel(l);
      const running =
        l.protocol === 'ws'
          ? await (await import('./edge/ws-listener.js')).listenWs(
              { ...common, ...proxied, path: l.path, tls },
              accept,
            )
          : tls
            ? await listenTls({ ...common, ...proxied, tls }, accept)
            : await listenTcp({ ...common, ...proxied }, accept);
      policy.name = running.url;
      if (tls) {
        tls.name = running.url;
        tlsPorts.set(tls, running.port);
      }
      listeners.push(running);
      listenerInfo.push({ url: running.url, protocol: running.protocol, policy, tls });
      log.info({ url: running.url, allowAnonymous: policy.allowAnonymous }, 'listening');
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    await store.close();
    await admin?.close();
    throw error;
  }
  const bridges = await startBridges(config.bridges ?? [], core, channelOptions, log, hooks.bridgeTrust);
  const stopSys = startSysTopics(core, {
    intervalSeconds: sysInterval,
    version: `warden version ${version}`,
    heapBytes: () => process.memoryUsage().heapUsed,
    more: function* () {
      yield* certificateSysValues(tlsPorts);
      if (bus) yield* clusterSysValues(bus);
    },
  });
  for (const channel of channels) channel.watch();
  securityFiles.watch();
  const view = {
    core,
    cluster: bus,
    listeners: () => listenerInfo,
    bridges: () => bridges.map((b) => b.status()),
    tls: () => (admin?.tls ? [...channels, admin.tls] : channels),
  };
  const reloadTls = () =>
    Promise.all(channels.map(async (c) => ({ listener: c.name, ...(await c.reload()) })));
  metrics?.bind(view);
  if (api) {
    const startedAt = systemClock.now();
    api.resources = {
      view,
      reload: async () => ({ tls: await reloadTls(), security: await securityFiles.reload() }),
      stats: () => sysValues(core, startedAt, () => process.memoryUsage().heapUsed),
    };
  }
  readiness.notReady = undefined;
  const developmentCa = tlsFactory.developmentCa();
  if (developmentCa)
    log.info({ caFile: developmentCa.caFile, created: developmentCa.created }, 'TLS from the development CA');
  return {
    config,
    listeners,
    core,
    developmentCa: tlsFactory.developmentCa(),
    store: storeReport,
    admin: admin && { url: admin.url, port: admin.port },
    get bridges() {
      return bridges.map((b) => b.status());
    },
    reloadTls,
    reloadSecurity: () => securityFiles.reload(),
    async close() {
      readiness.notReady = 'shutting down';
      for (const channel of channels) channel.close();
      securityFiles.close();
      refusals?.close();
      stopSys();
      await Promise.all(bridges.map((b) => b.close()));
      core.shutdown();
      await Promise.all(listeners.map((l) => l.close()));
      // What the shutdown itself wrote (sessions now disconnected, their expiry running) goes too.
      await core.commits.drained();
      await store.close();
      await bus?.close();
      await admin?.close();
    },
  };
}

/** The admin listener with its token (read from its file) and, for HTTPS, its TLS channel. */
async function startAdmin(
  config: NonNullable<BrokerConfig['admin']>,
  api: AdminApiOptions,
  log: Logger,
): Promise<RunningAdmin & { readonly tls?: TlsChannel }> {
  let token: string | undefined;
  if (config.tokenFile !== undefined) {
    try {
      token = (await readFile(config.tokenFile, 'utf8')).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `admin: token file ${config.tokenFile}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error)}`,
      );
    }
    if (token === '') throw new Error(`admin: token file ${config.tokenFile} is empty`);
  }
  const name = `${config.tls ? 'https' : 'http'}://${config.host}:${config.port}`;
  const tls = config.tls && (await TlsChannel.open(name, config.tls, config.tls, log));
  const [{ listenAdmin }, { adminRoutes, PUBLIC_PATHS }] = await Promise.all([
    import('./edge/admin-listener.js'),
    import('./observability/admin-api.js'),
  ]);
  const admin = await listenAdmin(
    { host: config.host, port: config.port, token, tls, logger: log, publicPaths: PUBLIC_PATHS },
    adminRoutes(api),
  );
  if (tls) tls.name = admin.url;
  log.info({ url: admin.url, token: token !== undefined }, 'admin listening');
  return {
    ...admin,
    tls,
    close: async () => {
      tls?.close();
      await admin.close();
    },
  };
}

/**
 * $SYS/broker/tls/<port>/certificate/<n>/expires (ISO 8601) and .../status (ok, expiring within
 * 30 days, expired, not yet valid) for each certificate a TLS listener serves: 0 its own, then
 * its SNI ones in the order configured.
 */
/**
 * The bridges, each with an in-process connection into this broker (trusted: no password, no
 * ACL, as mosquitto's bridges are) and its link state published here as the broker's own.
 */
async function startBridges(
  configs: NonNullable<BrokerConfig['bridges']>,
  core: BrokerCore,
  channelOptions: SocketChannelOptions,
  log: Logger,
  trust: SecurityHooks['bridgeTrust'] = {},
): Promise<Bridge[]> {
  // The bridge brings the client library (and its diagnostics' certificate code) with it.
  if (configs.length === 0) return [];
  const { Bridge } = await import('./bridge/bridge.js');
  const host: BridgeHost = {
    async openLocal(name) {
      const [inside, outside] = streamPair();
      const policy = listenerPolicy(`bridge://${name}`, { allowAnonymous: true });
      attachSocket(
        inside,
        `bridge:${name}`,
        (channel) => new Connection(core, channel, policy),
        channelOptions,
      );
      return outside;
    },
    localQueue(clientId) {
      const session = core.sessions.get(clientId);
      return { queued: session?.queue.length ?? 0, droppedQueueFull: session?.droppedQueueFull ?? 0 };
    },
    publishState: (topic, payload) =>
      core.publish({ topic, payload: Buffer.from(payload), qos: 0, retain: true }, undefined),
  };
  const bridges = configs.map((c) => new Bridge(c, host, log, trust[c.name]));
  for (const b of bridges) await b.start();
  return bridges;
}

/** A listener behind a load balancer: its PROXY protocol settings, as the edge takes them. */
function proxyOptions(l: BrokerConfig['listeners'][number], version: 1 | 2): ProxyOptions {
  return {
    version,
    ...(l.trustedProxies && { trustedProxies: l.trustedProxies }),
    requireTls: l.proxyRequireTls ?? false,
    clientCertificates: l.proxyClientCertificates ?? 'none',
    identityAsUsername: l.proxyUseIdentityAsUsername ?? false,
  };
}

/** $SYS/broker/cluster/...: this node's name, and every node's state (1 alive, 0 stopped beating). */
function* clusterSysValues(bus: RedisBus): Iterable<readonly [string, string]> {
  yield ['$SYS/broker/cluster/node_id', bus.nodeId];
  yield ['$SYS/broker/cluster/nodes', String(bus.nodes.filter((n) => n.alive).length)];
  for (const { node, alive } of bus.nodes)
    yield [`$SYS/broker/cluster/node/${node}/state`, alive ? '1' : '0'];
}

function* certificateSysValues(ports: ReadonlyMap<TlsChannel, number>): Iterable<readonly [string, string]> {
  const words = { ok: 'ok', expiring: 'expiring', expired: 'expired', notYetValid: 'not yet valid' };
  for (const [channel, port] of ports) {
    let n = 0;
    for (const health of channel.certificates()) {
      const topic = `$SYS/broker/tls/${port}/certificate/${n++}`;
      yield [`${topic}/expires`, new Date(health.certificate.validTo).toISOString()];
      yield [`${topic}/status`, words[health.status]];
    }
  }
}

/** Opens each TLS listener's channel; a listener without a certificate gets the development CA's. */
function tlsChannelFactory(config: BrokerConfig, log: Logger) {
  let developmentCa: DevelopmentCertificate | undefined;
  const channels: TlsChannel[] = [];
  const open = async (l: BrokerConfig['listeners'][number]): Promise<TlsChannel | undefined> => {
    if (l.tls === undefined) return undefined;
    let { certFile, keyFile } = l.tls;
    // No certificate: PKCS#12, PSK or anonymous if so configured, else the development CA's.
    const otherIdentity =
      l.tls.pfxFile !== undefined || l.tls.pskFile !== undefined || l.tls.anonymousCiphers;
    if ((certFile === undefined || keyFile === undefined) && !otherIdentity) {
      const hosts = developmentHosts(config.listeners.map((x) => x.host));
      developmentCa ??= await developmentCertificate(config.dataDir, hosts);
      ({ certFile, keyFile } = developmentCa);
    }
    const name = `${l.protocol === 'ws' ? 'wss' : 'mqtts'}://${l.host}:${l.port}`;
    const channel = await TlsChannel.open(name, l.tls, { certFile, keyFile }, log);
    channels.push(channel);
    return channel;
  };
  return { open, channels, developmentCa: () => developmentCa };
}

/** Who may connect through a listener and what they may do: hooks, then its files. */
function listenerSecurity(
  config: BrokerConfig,
  hooks: SecurityHooks,
  securityFiles: SecurityFiles,
  log: Logger,
) {
  const throttle = new LoginThrottle({
    ...loginThrottleDefaults,
    baseDelayMs: config.failedLoginDelay.baseMs,
    maxDelayMs: config.failedLoginDelay.maxMs,
  });
  const { authHookTimeoutMs } = config;
  return async (l: BrokerConfig['listeners'][number]) => {
    const passwordPath = l.passwordFile ?? config.passwordFile;
    const aclPath = l.aclFile ?? config.aclFile;
    const passwords = passwordPath ? await securityFiles.passwordFile(passwordPath) : undefined;
    const acl = aclPath ? await securityFiles.aclFile(aclPath) : undefined;
    const authorizeHooks = hooks.authorize ?? [];
    const anonymous = l.allowAnonymous ?? config.allowAnonymous;
    // SCRAM-SHA-256 is offered wherever a password file is: its SCRAM entries answer it.
    const methods = [
      ...(passwords ? [scramSha256((user) => passwords.scram(user))] : []),
      ...(hooks.enhancedAuth ?? []),
    ];
    return {
      enhancedAuth: new Map(methods.map((m) => [m.method, m])),
      allowAnonymous: anonymous,
      authenticator: new AuthenticationChain({
        hooks: hooks.authenticate ?? [],
        passwords,
        allowAnonymous: anonymous,
        hookTimeoutMs: authHookTimeoutMs,
        logger: log,
      }),
      authorizer:
        acl || authorizeHooks.length > 0
          ? new TopicAuthorizer({
              hooks: authorizeHooks,
              acl,
              hookTimeoutMs: authHookTimeoutMs,
              logger: log,
              aclJudgesSubscribe: config.refuseUnreadableSubscriptions,
            })
          : undefined,
      failedLoginDelay: throttle,
    };
  };
}
