// The broker's one configuration schema: every setting, its type, its range and its default.
// The native YAML/JSON file, the mosquitto.conf reader and library callers all end here, so a
// setting is checked the same way wherever it came from.

import { z } from 'zod';
import { coreDefaults } from '../core/broker-core.js';

const port = z.int().min(0).max(65_535);
const u16 = (min: number) => z.int().min(min).max(65_535);

/** What of a verified client certificate becomes an identity (Mosquitto: use_identity_as_username = cn, use_subject_as_username = dn). */
export const certificateField = z.enum(['cn', 'dn', 'san-dns', 'san-email', 'san-uri', 'fingerprint']);

export const tlsSchema = z
  .strictObject({
    /** Server certificate chain (PEM); absent: a development CA in dataDir issues one. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Trust for client certificates: a PEM bundle and/or a directory of PEM files. */
    caFile: z.string().min(1).optional(),
    caPath: z.string().min(1).optional(),
    /** none: not asked; optional: asked, a bad one refused, none allowed; required: refused without. */
    clientCertificates: z.enum(['none', 'optional', 'required']).default('none'),
    crlFiles: z.array(z.string().min(1)).default([]),
    /**
     * leaf: a client certificate is checked against the CRL of its issuer (Mosquitto's rule; a
     * crlfile with the issuing CA's CRL is enough). chain: every CA above it needs its CRL too.
     */
    crlCheck: z.enum(['leaf', 'chain']).default('leaf'),
    /**
     * An expired or not-yet-valid server certificate stops the start when true; by default the
     * listener starts, serves it, logs the error and takes the renewed file when it appears.
     */
    refuseExpiredCertificate: z.boolean().default(false),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** OpenSSL cipher list for TLS 1.2 and the TLS 1.3 suites; Node's defaults when absent. */
    ciphers: z.string().min(1).optional(),
    ciphersTls13: z.string().min(1).optional(),
    /** Diffie-Hellman parameters (PEM, `openssl dhparam`) for the TLS 1.2 DHE suites, which are off without them (Mosquitto's dhparamfile). */
    dhparamFile: z.string().min(1).optional(),
    handshakeTimeoutMs: z.int().min(100).default(10_000),
    /** OCSP stapling: a DER OCSP response for the server certificate, stapled to every handshake that asks, re-read on reload. */
    ocspResponseFile: z.string().min(1).optional(),
    /**
     * OCSP stapling from a responder: its http URL, or "certificate" for the one the server
     * certificate names. Fetched at start, refreshed halfway through each answer's validity.
     */
    ocspResponderUrl: z.union([z.literal('certificate'), z.url({ protocol: /^https?$/ })]).optional(),
    /** ECDH groups in preference order, OpenSSL names ("X25519:P-256"); Node's default when absent. */
    ecdhCurves: z.string().min(1).optional(),
    /** Most intermediate CAs between a client certificate and its root (OpenSSL's verify depth); deeper chains are refused. */
    verifyDepth: z.int().min(0).max(100).optional(),
    /** The username and/or client id a verified client certificate gives. */
    usernameFrom: certificateField.optional(),
    clientIdFrom: certificateField.optional(),
    /** With clientIdFrom: refuse a client whose CONNECT client id differs instead of replacing it. */
    requireClientIdMatch: z.boolean().default(false),
    /**
     * TLS-PSK for devices without certificates: Mosquitto's psk_file ("identity:hexkey" lines);
     * the identity becomes the user name. Without certFile the listener is PSK only.
     */
    pskFile: z.string().min(1).optional(),
    pskHint: z.string().min(1).optional(),
    /**
     * Anonymous cipher suites (TLS 1.2 aNULL): encrypted, but the broker is not authenticated, so
     * anyone in the middle can read the traffic. Off unless said, loudly logged when on.
     */
    anonymousCiphers: z.boolean().default(false),
    /** More server certificates, chosen by the SNI name the client asks for ("*.example.com" covers one level). */
    sni: z
      .array(
        z.strictObject({
          hosts: z.array(z.string().min(1)).min(1),
          certFile: z.string().min(1),
          keyFile: z.string().min(1),
        }),
      )
      .default([]),
    /** The server identity as PKCS#12 instead of certFile/keyFile, its passphrase from a file or an env variable. */
    pfxFile: z.string().min(1).optional(),
    passphraseFile: z.string().min(1).optional(),
    passphraseEnv: z.string().min(1).optional(),
  })
  .refine((t) => t.pfxFile === undefined || (t.certFile === undefined && t.keyFile === undefined), {
    message: 'pfxFile replaces certFile and keyFile: give one or the other',
    path: ['pfxFile'],
  })
  .refine((t) => t.passphraseFile === undefined || t.passphraseEnv === undefined, {
    message: 'passphraseFile or passphraseEnv, not both',
    path: ['passphraseEnv'],
  })
  .refine((t) => !(t.anonymousCiphers && t.clientCertificates === 'required'), {
    message:
      'anonymousCiphers cannot go with clientCertificates required: an anonymous server cannot ask for certificates',
    path: ['anonymousCiphers'],
  })
  .refine(
    (t) => t.anonymousCiphers || !/\b(aNULL|ADH|AECDH)\b/.test(`${t.ciphers ?? ''}:${t.ciphersTls13 ?? ''}`),
    {
      message: 'anonymous cipher suites only with anonymousCiphers: true',
      path: ['ciphers'],
    },
  )
  .refine((t) => t.ocspResponseFile === undefined || t.ocspResponderUrl === undefined, {
    message: 'ocspResponseFile or ocspResponderUrl, not both',
    path: ['ocspResponderUrl'],
  })
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
    message: 'certFile and keyFile go together (leave both out for a development certificate)',
    path: ['keyFile'],
  });

export const listenerSchema = z
  .strictObject({
    /** mqtt: MQTT over TCP; ws: MQTT over WebSocket. */
    protocol: z.enum(['mqtt', 'ws']).default('mqtt'),
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port; the bound one is in Broker.listeners. */
    port,
    /** WebSocket only: the HTTP path to upgrade. */
    path: z.string().startsWith('/', 'a WebSocket path starts with "/"').default('/mqtt'),
    /** Clients connected through this listener at once (Mosquitto's max_connections); unlimited when absent. */
    maxConnections: z.int().min(1).optional(),
    /**
     * Connections not yet past CONNACK at once (TLS handshake, CONNECT, authentication); more are
     * closed on arrival, before any byte is read. Bounds what a slowloris or a handshake flood
     * holds; a reconnecting fleet retries. 0: no limit.
     */
    maxPendingConnects: z.int().min(0).default(4096),
    /**
     * Open connections from one IP address (0: no limit, the default: devices behind one NAT
     * share an address). Behind a PROXY protocol load balancer it counts the balancer's address.
     */
    maxConnectionsPerAddress: z.int().min(0).default(0),
    /** Overrides the broker-wide allowAnonymous for this listener. */
    allowAnonymous: z.boolean().optional(),
    /** Overrides the broker-wide useUsernameAsClientId for this listener. */
    useUsernameAsClientId: z.boolean().optional(),
    /** Override the broker-wide passwordFile / aclFile for this listener (Mosquitto's per_listener_settings). */
    passwordFile: z.string().min(1).optional(),
    aclFile: z.string().min(1).optional(),
    /** Present: MQTT over TLS (mqtts) or WebSocket over TLS (wss). */
    tls: tlsSchema.optional(),
    /**
     * Behind a load balancer: every connection starts with a PROXY protocol header of this version
     * (mosquitto 2.1's enable_proxy_protocol); a connection without one is refused, never guessed.
     * The header's client address is the one logged and shown.
     */
    proxyProtocol: z.union([z.literal(1), z.literal(2)]).optional(),
    /** Peers that may send the header: addresses or CIDR ranges (10.0.0.0/8, fd00::/8); absent: any. */
    trustedProxies: z
      .array(z.string().regex(/^[0-9a-fA-F.:]+(\/\d{1,3})?$/, 'an IPv4 or IPv6 address, or a CIDR range'))
      .min(1)
      .optional(),
    /** v2: clients must have reached the proxy over TLS (mosquitto's proxy_protocol_v2_require_tls). */
    proxyRequireTls: z.boolean().optional(),
    /**
     * v2 with TLS terminated at the proxy (haproxy's send-proxy-v2-ssl-cn): a client certificate the
     * proxy verified is not asked for, optional, or required, as clientCertificates on a TLS listener.
     */
    proxyClientCertificates: z.enum(['none', 'optional', 'required']).optional(),
    /** The verified certificate's CN is the user name (use_identity_as_username). */
    proxyUseIdentityAsUsername: z.boolean().optional(),
  })
  .refine(
    (l) =>
      l.tls === undefined ||
      (!l.proxyRequireTls &&
        (l.proxyClientCertificates ?? 'none') === 'none' &&
        !l.proxyUseIdentityAsUsername),
    {
      message:
        "on a TLS listener the handshake is warden's own: use tls.clientCertificates and tls.usernameFrom, not the proxy* TLS settings",
      path: ['proxyClientCertificates'],
    },
  )
  .refine((l) => l.trustedProxies === undefined || l.proxyProtocol !== undefined, {
    message: 'trustedProxies needs proxyProtocol',
    path: ['trustedProxies'],
  })
  .refine(
    (l) =>
      l.proxyProtocol === 2 ||
      (!l.proxyRequireTls &&
        (l.proxyClientCertificates ?? 'none') === 'none' &&
        !l.proxyUseIdentityAsUsername),
    {
      message:
        'what the proxy says of TLS (proxyRequireTls, proxyClientCertificates, proxyUseIdentityAsUsername) needs proxyProtocol 2',
      path: ['proxyProtocol'],
    },
  );

/** Loopback names and addresses: the admin listener may go without a token and TLS only there. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The admin HTTP listener: /metrics, /api/..., /healthz, /readyz and the dashboard. Off when
 * absent. Beyond loopback it needs both a token and TLS.
 */
export const adminSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (Broker.admin tells which). */
    port,
    /** A file holding the bearer token every request must bring (Authorization: Bearer <token>). */
    tokenFile: z.string().min(1).optional(),
    /** HTTPS, with a broker listener's TLS settings. */
    tls: tlsSchema.optional(),
  })
  .refine((a) => isLoopback(a.host) || a.tokenFile !== undefined, {
    message: 'an admin listener beyond loopback needs a tokenFile (every request must bring the token)',
    path: ['tokenFile'],
  })
  .refine((a) => isLoopback(a.host) || a.tls !== undefined, {
    message:
      'an admin listener beyond loopback needs tls (the token must not cross the network in the clear)',
    path: ['tls'],
  });

/**
 * One node of a cluster on Redis: the nodes share sessions, retained messages and every
 * message published, so that clients can reach any of them as one broker.
 */
export const clusterSchema = z.strictObject({
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS (the server's certificate is verified). */
  redis: z.string().regex(/^rediss?:\/\/./, 'a redis:// or rediss:// URL'),
  /**
   * This node's name, unique in the cluster; a random one when absent. A node restarted under
   * the same name takes back the sessions it held (unless another node took them meanwhile).
   */
  nodeId: z.string().min(1).optional(),
  /** A file whose first line is Redis' password (instead of one in the URL). */
  passwordFile: z.string().min(1).optional(),
  /** rediss://: the CA file that Redis' certificate is verified against (default: the system's). */
  caFile: z.string().min(1).optional(),
  /** rediss:// with client certificates (tls-auth-clients yes): this node's certificate and key. */
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
});

/** One topic a bridge carries: mosquitto's `topic <pattern> [out|in|both] [qos] [local-prefix] [remote-prefix]`. */
export const bridgeTopicSchema = z.strictObject({
  pattern: z.string().min(1),
  direction: z.enum(['out', 'in', 'both']).default('out'),
  /** The most QoS the bridge carries it with (and subscribes with). */
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(0),
  /** Here the topic is localPrefix + pattern; on the remote broker remotePrefix + pattern. */
  localPrefix: z.string().default(''),
  remotePrefix: z.string().default(''),
});

/**
 * A bridge to another broker (mosquitto's `connection <name>` block): warden's own client on the
 * remote side, verifying it as `warden pub` would; outgoing messages wait in a persistent local
 * session while the link is down, incoming ones in a persistent remote session.
 */
export const bridgeSchema = z
  .strictObject({
    name: z.string().regex(/^[^\s/#+]+$/, 'a name without spaces, "/", "#" or "+"'),
    /** The remote broker; the next address is tried when one cannot be reached. */
    addresses: z.array(z.strictObject({ host: z.string().min(1), port: port.default(1883) })).min(1),
    /** 4: MQTT 3.1.1 (mosquitto's default mqttv311); 5: MQTT 5.0 (mqttv50). */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
    topics: z.array(bridgeTopicSchema).min(1),
    /** Default "<host name>.<name>", as mosquitto's. */
    remoteClientId: z.string().min(1).optional(),
    /** The bridge's session in this broker; default "local.<remoteClientId>". */
    localClientId: z.string().min(1).optional(),
    remoteUsername: z.string().optional(),
    remotePassword: z.string().optional(),
    /** false (mosquitto's default): the remote session persists, so incoming messages wait for the bridge. */
    cleanSession: z.boolean().default(false),
    /**
     * The bridge's session here (local_cleansession); default: as cleanSession. false keeps what
     * waits to go out across a restart of this broker.
     */
    localCleanSession: z.boolean().optional(),
    /**
     * MQTT 3.1.1: tell the remote it is a bridge (the protocol level's high bit, mosquitto's
     * try_private), so it does not send back what the bridge published. Not every broker accepts it.
     */
    tryPrivate: z.boolean().default(true),
    /** Bigger outgoing messages are dropped, counted and logged (bridge_max_packet_size); the remote's own limit applies too. */
    maxPacketSize: z.int().min(64).max(268_435_460).optional(),
    /**
     * With several addresses: false (mosquitto's default) treats the first as the main one, goes
     * back to it when it answers again; true takes them in turn, staying where it got through.
     */
    roundRobin: z.boolean().default(false),
    /** automatic: reconnects for ever; once: connects at start and never again (mosquitto's start_type). */
    startType: z.enum(['automatic', 'once']).default('automatic'),
    keepAlive: z.int().min(5).max(65_535).default(60),
    /** Seconds before reconnecting, growing with jitter from base to cap (mosquitto's restart_timeout). */
    restartTimeout: z
      .strictObject({ base: z.number().positive().default(5), cap: z.number().positive().default(30) })
      .default({ base: 5, cap: 30 }),
    /** Publish the link's state, retained, 1 up / 0 down, here and on the remote broker. */
    notifications: z.boolean().default(true),
    /** Default $SYS/broker/connection/<remoteClientId>/state. */
    notificationTopic: z.string().min(1).optional(),
    /** Retained messages keep their retain flag on the way out (bridge_outgoing_retain). */
    outgoingRetain: z.boolean().default(true),
    /** TLS to the remote broker, its certificate verified against caFile (default: the system store). */
    tls: z
      .strictObject({
        caFile: z.string().min(1).optional(),
        /** bridge_capath: a directory of PEM CA files. */
        caPath: z.string().min(1).optional(),
        /** The operating system's CA store too (with caFile or caPath; alone it is the default). */
        systemStore: z.boolean().optional(),
        /** SPKI SHA-256 pins (base64 or hex): some certificate of the remote's chain must match. */
        pins: z.array(z.string().min(1)).min(1).optional(),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** bridge_insecure: the host name is not checked against the certificate (the chain still is). */
        insecure: z.boolean().default(false),
        /** bridge_alpn: the ALPN protocols offered. */
        alpn: z.array(z.string().min(1)).min(1).optional(),
        /** bridge_tls_version: the oldest TLS version accepted. */
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
        /** bridge_identity / bridge_psk: TLS-PSK instead of certificates; the key in hex. */
        psk: z
          .strictObject({
            identity: z.string().min(1),
            key: z.string().regex(/^([0-9a-fA-F]{2})+$/, 'hex digits'),
          })
          .optional(),
      })
      .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
        message: 'certFile and keyFile go together',
      })
      .optional(),
  })
  .refine((b) => b.topics.every((t) => t.direction !== 'both') || b.protocolVersion === 5 || b.tryPrivate, {
    message:
      'a "both" topic over MQTT 3.1.1 needs tryPrivate (the bridge flag; else the remote sends every message back and it loops)',
    path: ['topics'],
  });

export const brokerConfigSchema = z.strictObject({
  listeners: z.array(listenerSchema).min(1, 'at least one listener is needed'),
  admin: adminSchema.optional(),
  cluster: clusterSchema.optional(),
  /** Bridges to other brokers. */
  bridges: z.array(bridgeSchema).optional(),
  /**
   * Whether clients without credentials may connect. Off unless said (Mosquitto 2.x); the CLI's
   * no-config quick start turns it on for its loopback listeners only.
   */
  allowAnonymous: z.boolean().default(false),
  /**
   * A client's user name becomes its client id, so one user cannot take over another's session;
   * a client without a user name is refused (Mosquitto's use_username_as_clientid).
   */
  useUsernameAsClientId: z.boolean().default(false),
  /**
   * A SUBSCRIBE to a filter the ACL file gives no read access to is refused (SUBACK 0x80, v5
   * 0x87). false, as mosquitto 2.0 (and under a mosquitto.conf): granted, and only the messages
   * the client may read are delivered.
   */
  refuseUnreadableSubscriptions: z.boolean().default(true),
  /**
   * The CONNACK for a wrong password or unknown user: badUserNameOrPassword (3.1.1 0x04, v5
   * 0x86), or notAuthorized (0x05, v5 0x87) as mosquitto 2.0 answers (and under a mosquitto.conf).
   */
  refusedLoginCode: z.enum(['badUserNameOrPassword', 'notAuthorized']).default('badUserNameOrPassword'),
  /** Mosquitto's password_file: "user:hash" lines (`warden passwd` or mosquitto_passwd); reloaded on change and SIGHUP. */
  passwordFile: z.string().min(1).optional(),
  /** Mosquitto's acl_file: user / topic / pattern lines; once set, what it does not allow is denied. */
  aclFile: z.string().min(1).optional(),
  /** How long a library authentication or authorization hook may take before it counts as a denial. */
  authHookTimeoutMs: z.int().min(1).default(5000),
  /** Refused logins are answered after a delay that doubles per failure from the same address, up to maxMs; baseMs 0 turns it off. */
  failedLoginDelay: z
    .strictObject({ baseMs: z.int().min(0).default(250), maxMs: z.int().min(0).default(5000) })
    .default({ baseMs: 250, maxMs: 5000 }),
  logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('info'),
  /** Where log lines go (Mosquitto's log_dest), several at once; standard output when absent. */
  logDest: z
    .array(z.union([z.enum(['stdout', 'stderr']), z.strictObject({ file: z.string().min(1) })]))
    .min(1)
    .optional(),
  /** Client ids the broker assigns to clients that send an empty one start with this (Mosquitto's auto_id_prefix). */
  autoIdPrefix: z.string().default('warden-'),
  /** false: a client with an empty client id is refused rather than given one (Mosquitto's allow_zero_length_clientid). */
  allowZeroLengthClientId: z.boolean().default(coreDefaults.allowZeroLengthClientId),
  /** `warden broker` writes its process id here at start and removes it at exit (Mosquitto's pid_file). */
  pidFile: z.string().min(1).optional(),
  /** Started as root, `warden broker` runs as this user (and its group) once its listeners are bound (Mosquitto's user). */
  user: z.string().min(1).optional(),
  /** One-line notes on settings accepted without effect here (from a mosquitto.conf), logged at start. */
  notes: z.array(z.string()).default([]),
  /** Where the broker keeps what it generates (the development CA) and, by default, its store. */
  dataDir: z.string().min(1).default('.warden-data'),
  /**
   * Persistent sessions (their subscriptions, queued and in-flight messages, QoS 2 state, wills)
   * and retained messages kept on disk in an embedded store (LMDB), every change committed before
   * it is acknowledged. enabled false keeps them in memory only (lost at exit).
   */
  persistence: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Directory of the store file; dataDir when absent (Mosquitto's persistence_location). */
      dir: z.string().min(1).optional(),
      /** The store file in that directory (Mosquitto's persistence_file). */
      file: z
        .string()
        .min(1)
        .refine((f) => !/[\\/]/.test(f), 'a file name, without a directory (put that in dir)')
        .default('warden.mdb'),
      /**
       * Mosquitto's autosave_interval / autosave_on_changes, accepted so a mosquitto.conf runs:
       * warden commits every change before acknowledging it, so there is nothing to autosave.
       */
      autosave: z.boolean().optional(),
    })
    .default({ enabled: true, file: 'warden.mdb' }),
  /**
   * Connections refused before MQTT (TLS handshakes, PROXY headers, connection limits) from one
   * address for one reason are logged once per this many seconds; the others are counted and
   * summed up in one line at the end of the window. 0 logs every one.
   */
  refusalLogSeconds: z.int().min(0).default(60),
  /** Seconds between $SYS/broker/... updates; 0 turns them off (Mosquitto's sys_interval). */
  sysInterval: z.int().min(0).default(10),
  /** Disables Nagle's algorithm on client sockets (Mosquitto's set_tcp_nodelay). */
  tcpNoDelay: z.boolean().default(true),
  connectTimeoutMs: z.int().min(1).default(coreDefaults.connectTimeoutMs),
  maxQos: z
    .int()
    .min(0)
    .max(2)
    .transform((n) => n as 0 | 1 | 2)
    .default(coreDefaults.maxQos),
  receiveMaximum: u16(1).default(coreDefaults.receiveMaximum),
  maxInflight: u16(1).default(coreDefaults.maxInflight),
  topicAliasMaximum: u16(0).default(coreDefaults.topicAliasMaximum),
  maxKeepAlive: u16(1).default(coreDefaults.maxKeepAlive),
  /** Largest packet accepted, bytes; 0 for the protocol's own limit (256 MB). */
  maxPacketSize: z
    .int()
    .min(0)
    .max(268_435_455)
    .refine((n) => n === 0 || n >= 20, 'below 20 bytes no CONNECT fits')
    .default(coreDefaults.maxPacketSize),
  /** QoS 1/2 messages kept per session while its client is away or slow; always bounded. */
  maxQueuedMessages: z.int().min(0).default(coreDefaults.maxQueuedMessages),
  /**
   * Payload bytes kept per session's queue (Mosquitto's max_queued_bytes), with maxQueuedMessages:
   * whichever is reached first drops new messages. 0: no byte limit.
   */
  maxQueuedBytes: z.int().min(0).default(coreDefaults.maxQueuedBytes),
  /**
   * Subscriptions one client may hold (EMQX's max_subscriptions); beyond it each new filter is
   * refused in the SUBACK (0x97 Quota exceeded on MQTT 5, 0x80 on 3.1.1). 0: no limit.
   */
  maxSubscriptionsPerClient: z.int().min(0).default(coreDefaults.maxSubscriptionsPerClient),
  /**
   * Retained messages the broker keeps, by count and by bytes of topic and payload. A message
   * for a new topic past either is not retained: refused with 0x97 to an MQTT 5 QoS 1/2
   * publisher, otherwise delivered to current subscribers without being kept. 0: no limit.
   */
  maxRetainedMessages: z.int().min(0).default(coreDefaults.maxRetainedMessages),
  maxRetainedBytes: z.int().min(0).default(coreDefaults.maxRetainedBytes),
  retainAvailable: z.boolean().default(coreDefaults.retainAvailable),
  maxTopicLevels: z.int().min(1).max(65_535).default(coreDefaults.maxTopicLevels),
  /**
   * Longest a disconnected session is kept, seconds, whatever its client asked (a 3.1.1
   * persistent session otherwise never expires); 0: no cap. Mosquitto's persistent_client_expiration.
   */
  maxSessionExpiry: z.int().min(0).default(coreDefaults.maxSessionExpiry),
  /** QoS 0 messages wait for a disconnected persistent session too, counted in maxQueuedMessages. */
  queueQos0Messages: z.boolean().default(coreDefaults.queueQos0Messages),
  /**
   * A retained message is sent to a new subscriber only while its publisher may still publish
   * to that topic under the ACL in force (Mosquitto's check_retain_source).
   */
  checkRetainSource: z.boolean().default(coreDefaults.checkRetainSource),
});

/** A configuration as written: defaults may be left out. */
export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;
/** A validated configuration with every default filled in. */
export type BrokerConfig = z.output<typeof brokerConfigSchema>;
export type ListenerConfig = z.output<typeof listenerSchema>;
export type TlsConfig = z.output<typeof tlsSchema>;
export type CertificateField = z.output<typeof certificateField>;
export type BridgeConfig = z.output<typeof bridgeSchema>;
