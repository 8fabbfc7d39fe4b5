// Reads a Mosquitto 2.x configuration file into our schema's input, for the directives whose
// features exist here. An unknown directive, a directive of a feature we do not have, or a bad
// value is an error naming file:line, never silently ignored: a security setting that is dropped
// without a word is worse than a broker that refuses to start.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config-error.js';
import type { BrokerConfigInput } from './config-schema.js';
import { applyBridgeDirective, isBridgeDirective, type MutableBridge } from './mosquitto-bridge.js';
import type { ConfigSource } from './validate-config.js';

type ListenerInput = BrokerConfigInput['listeners'][number];
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface ReadState {
  readonly config: Mutable<Omit<BrokerConfigInput, 'listeners'>>;
  readonly listeners: Mutable<ListenerInput>[];
  /** The `port` / `bind_address` listener of older configurations. */
  defaultListener?: Mutable<ListenerInput>;
  perListenerSettings: boolean;
  allowAnonymousSet: boolean;
  /** The general psk_file, given to every listener with a psk_hint at the end. */
  pskFile?: { file: string; line: number };
  /** Key path -> "file:line" that set it. */
  readonly lines: Map<string, string>;
  /** The file being read (the main one, or one include_dir brought in) and the line in it. */
  file: string;
  line: number;
  /** include_dir depth, against a directory that includes itself. */
  depth: number;
  /** Directives accepted without effect, one line each, logged at start. */
  readonly notes: string[];
  /** Listeners given an address (listener's second value, bind_address): socket_domain leaves them be. */
  readonly explicitHost: WeakSet<object>;
  /** The `connection` blocks, in order. */
  readonly bridges: MutableBridge[];
}

class DirectiveError extends Error {}

type LogLevel = NonNullable<BrokerConfigInput['logLevel']>;
const LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];
/** Mosquitto's log types as our levels; without log_type Mosquitto logs up to information, as we do. */
const LOG_LEVEL_OF_TYPE: Record<string, LogLevel> = {
  none: 'silent',
  error: 'error',
  warning: 'warn',
  notice: 'info',
  information: 'info',
  subscribe: 'info',
  unsubscribe: 'info',
  websockets: 'info',
  debug: 'debug',
  all: 'debug',
};

const bool = (value: string): boolean => {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new DirectiveError(`"${value}" is not true or false`);
};
const int = (value: string): number => {
  if (!/^-?\d+$/.test(value)) throw new DirectiveError(`"${value}" is not a whole number`);
  return Number(value);
};

/** The listener a listener-scoped directive applies to: the last `listener`, else the default one. */
function currentListener(s: ReadState): { listener: Mutable<ListenerInput>; path: string } {
  const last = s.listeners.length - 1;
  if (last >= 0) return { listener: s.listeners[last]!, path: `listeners[${last}]` };
  s.defaultListener ??= { protocol: 'mqtt', host: '0.0.0.0', port: 1883 };
  return { listener: s.defaultListener, path: 'listeners[default]' };
}

const here = (s: ReadState) => `${s.file}:${s.line}`;

function set(s: ReadState, path: string, apply: () => void): void {
  apply();
  s.lines.set(path, here(s));
}

/** log_dest stdout | stderr | file <path> | syslog | topic | dlt | none; several lines add up. */
function logDest(s: ReadState, [kind, path]: string[]): void {
  s.config.logDest ??= [];
  const dest = s.config.logDest as Array<NonNullable<BrokerConfigInput['logDest']>[number]>;
  if ((kind === 'file') !== (path !== undefined))
    throw new DirectiveError(kind === 'file' ? 'file needs a path' : `${kind} takes no path`);
  switch (kind) {
    case 'stdout':
    case 'stderr':
      dest.push(kind);
      return;
    case 'file':
      dest.push({ file: path! });
      return;
    case 'none':
      s.config.logLevel = 'silent';
      return;
    case 'syslog':
    case 'dlt':
      dest.push('stderr');
      s.notes.push(
        `${here(s)}: log_dest ${kind}: warden does not write to ${kind}; it logs to stderr instead (journald collects it under systemd)`,
      );
      return;
    case 'topic':
      s.notes.push(
        `${here(s)}: log_dest topic: warden does not publish its log to $SYS/broker/log; use stderr, stdout or a file`,
      );
      return;
    default:
      throw new DirectiveError(
        `"${kind}" is not a log destination (stdout, stderr, file <path>, syslog, topic, none)`,
      );
  }
}

/** The value was checked; what it tunes does not exist here. */
function autosave(s: ReadState, _value: number | boolean): void {
  persistence(s).autosave = true;
}

function persistence(s: ReadState): Mutable<NonNullable<BrokerConfigInput['persistence']>> {
  s.config.persistence ??= { enabled: false };
  return s.config.persistence as Mutable<NonNullable<BrokerConfigInput['persistence']>>;
}

type Handler = (s: ReadState, args: string[]) => void;
/** directive -> [argument count (min, max), handler] */
const directives: Record<string, [number, number, Handler]> = {
  listener: [
    1,
    2,
    (s, [portText, host]) => {
      const port = int(portText!);
      if (host?.startsWith('/')) throw new DirectiveError('unix socket listeners are not supported');
      // mosquitto has no limit on connections that have not finished CONNECT: neither here.
      const listener: Mutable<ListenerInput> = {
        protocol: 'mqtt',
        host: host ?? '0.0.0.0',
        port,
        maxPendingConnects: 0,
      };
      if (host !== undefined) s.explicitHost.add(listener);
      s.listeners.push(listener);
      s.lines.set(`listeners[${s.listeners.length - 1}]`, here(s));
    },
  ],
  port: [1, 1, (s, [v]) => set(s, 'listeners[default]', () => (defaultListener(s).port = int(v!)))],
  bind_address: [
    1,
    1,
    (s, [v]) =>
      set(s, 'listeners[default]', () => {
        defaultListener(s).host = v!;
        s.explicitHost.add(defaultListener(s));
      }),
  ],
  protocol: [
    1,
    1,
    (s, [v]) => {
      if (v !== 'mqtt' && v !== 'websockets')
        throw new DirectiveError(`"${v}" is not a protocol warden serves (mqtt, websockets)`);
      const { listener, path } = currentListener(s);
      set(s, `${path}.protocol`, () => (listener.protocol = v === 'mqtt' ? 'mqtt' : 'ws'));
    },
  ],
  max_connections: [
    1,
    1,
    (s, [v]) => {
      const n = int(v!);
      const { listener, path } = currentListener(s);
      set(s, `${path}.maxConnections`, () => (listener.maxConnections = n < 0 ? undefined : n));
    },
  ],
  allow_anonymous: [
    1,
    1,
    (s, [v]) => {
      const allow = bool(v!);
      s.allowAnonymousSet = true;
      if (s.perListenerSettings && s.listeners.length > 0) {
        const { listener, path } = currentListener(s);
        set(s, `${path}.allowAnonymous`, () => (listener.allowAnonymous = allow));
      } else {
        set(s, 'allowAnonymous', () => (s.config.allowAnonymous = allow));
      }
    },
  ],
  per_listener_settings: [1, 1, (s, [v]) => (s.perListenerSettings = bool(v!))],
  password_file: securityFile('passwordFile'),
  acl_file: securityFile('aclFile'),
  max_inflight_messages: [
    1,
    1,
    // 0 is Mosquitto's "no limit": the most MQTT can express. Mosquitto 2 also tells v5 clients
    // it as its Receive Maximum, the window they may use towards it.
    (s, [v]) =>
      set(s, 'maxInflight', () => {
        const window = int(v!) === 0 ? 65_535 : int(v!);
        s.config.maxInflight = window;
        s.config.receiveMaximum = window;
      }),
  ],
  max_queued_messages: [
    1,
    1,
    (s, [v]) => {
      if (int(v!) === 0)
        throw new DirectiveError(
          '0 (no limit) is not supported: warden keeps every queue bounded; give a number',
        );
      set(s, 'maxQueuedMessages', () => (s.config.maxQueuedMessages = int(v!)));
    },
  ],
  max_queued_bytes: [1, 1, (s, [v]) => set(s, 'maxQueuedBytes', () => (s.config.maxQueuedBytes = int(v!)))],
  max_packet_size: [1, 1, (s, [v]) => set(s, 'maxPacketSize', () => (s.config.maxPacketSize = int(v!)))],
  max_keepalive: [1, 1, (s, [v]) => set(s, 'maxKeepAlive', () => (s.config.maxKeepAlive = int(v!)))],
  max_qos: [1, 1, (s, [v]) => set(s, 'maxQos', () => (s.config.maxQos = int(v!)))],
  max_topic_alias: [
    1,
    1,
    (s, [v]) => set(s, 'topicAliasMaximum', () => (s.config.topicAliasMaximum = int(v!))),
  ],
  retain_available: [
    1,
    1,
    (s, [v]) => set(s, 'retainAvailable', () => (s.config.retainAvailable = bool(v!))),
  ],
  // Mosquitto keeps nothing on disk unless `persistence true`; its default stands here too.
  persistence: [1, 1, (s, [v]) => set(s, 'persistence.enabled', () => (persistence(s).enabled = bool(v!)))],
  persistence_location: [
    1,
    1,
    (s, [v]) => set(s, 'persistence.dir', () => (persistence(s).dir = v!.replace(/(.)\/+$/, '$1'))),
  ],
  persistence_file: [1, 1, (s, [v]) => set(s, 'persistence.file', () => (persistence(s).file = v!))],
  // Snapshot timing: warden commits every change before acknowledging it (noted in the log).
  autosave_interval: [1, 1, (s, [v]) => set(s, 'persistence.autosave', () => autosave(s, int(v!)))],
  autosave_on_changes: [1, 1, (s, [v]) => set(s, 'persistence.autosave', () => autosave(s, bool(v!)))],
  auto_id_prefix: [1, 1, (s, [v]) => set(s, 'autoIdPrefix', () => (s.config.autoIdPrefix = v!))],
  allow_zero_length_clientid: [
    1,
    1,
    (s, [v]) => set(s, 'allowZeroLengthClientId', () => (s.config.allowZeroLengthClientId = bool(v!))),
  ],
  pid_file: [1, 1, (s, [v]) => set(s, 'pidFile', () => (s.config.pidFile = v!))],
  user: [1, 1, (s, [v]) => set(s, 'user', () => (s.config.user = v!))],
  log_dest: [1, 2, (s, args) => set(s, 'logDest', () => logDest(s, args))],
  sys_interval: [1, 1, (s, [v]) => set(s, 'sysInterval', () => (s.config.sysInterval = int(v!)))],
  set_tcp_nodelay: [1, 1, (s, [v]) => set(s, 'tcpNoDelay', () => (s.config.tcpNoDelay = bool(v!)))],
  log_type: [
    1,
    1,
    (s, [v]) => {
      if (!(v! in LOG_LEVEL_OF_TYPE)) throw new DirectiveError(`"${v}" is not a Mosquitto log type`);
      // The most verbose type given sets our level.
      const level = LOG_LEVEL_OF_TYPE[v!]!;
      const current = s.config.logLevel;
      if (current === undefined || LEVELS.indexOf(level) > LEVELS.indexOf(current))
        set(s, 'logLevel', () => (s.config.logLevel = level));
    },
  ],
  connection_messages: [1, 1, (_s, [v]) => void bool(v!)],
  // Mosquitto 2.1's PROXY protocol, per listener. On such a listener without a certificate of its
  // own, require_certificate and use_identity_as_username judge what the proxy verified.
  enable_proxy_protocol: [
    1,
    1,
    (s, [v]) => {
      const { listener, path } = currentListener(s);
      const version = int(v!);
      if (version !== 1 && version !== 2)
        throw new DirectiveError(`"${v}" is not a PROXY protocol version (1 or 2)`);
      set(s, `${path}.proxyProtocol`, () => (listener.proxyProtocol = version));
    },
  ],
  proxy_protocol_v2_require_tls: [
    1,
    1,
    (s, [v]) => {
      const { listener, path } = currentListener(s);
      set(s, `${path}.proxyRequireTls`, () => (listener.proxyRequireTls = bool(v!)));
    },
  ],
  // TLS, per listener: any of these makes the current listener mqtts (or wss with websockets).
  certfile: tlsDirective('certFile', (v) => v),
  keyfile: tlsDirective('keyFile', (v) => v),
  cafile: tlsDirective('caFile', (v) => v),
  capath: tlsDirective('caPath', (v) => v),
  require_certificate: tlsDirective('clientCertificates', (v) => (bool(v) ? 'required' : 'none')),
  use_identity_as_username: tlsDirective('usernameFrom', (v) => (bool(v) ? 'cn' : undefined)),
  use_subject_as_username: tlsDirective('usernameFrom', (v) => (bool(v) ? 'dn' : undefined)),
  crlfile: tlsDirective('crlFiles', (v, tls) => [...(tls.crlFiles ?? []), v]),
  tls_version: tlsDirective('minVersion', (v) => {
    if (v === 'tlsv1.2') return 'TLSv1.2';
    if (v === 'tlsv1.3') return 'TLSv1.3';
    throw new DirectiveError(`"${v}" is not supported: warden speaks tlsv1.2 and tlsv1.3`);
  }),
  ciphers: tlsDirective('ciphers', (v) => v),
  psk_hint: tlsDirective('pskHint', (v) => v),
  // A general option in Mosquitto: it serves every psk_hint listener, unless per_listener_settings.
  psk_file: [
    1,
    1,
    (s, [file]) => {
      if (s.perListenerSettings && s.listeners.length > 0) pskFileOfListener(s, [file!]);
      else s.pskFile = { file: file!, line: s.line };
    },
  ],
  'ciphers_tls1.3': tlsDirective('ciphersTls13', (v) => v),
  dhparamfile: tlsDirective('dhparamFile', (v) => v),
  persistent_client_expiration: [
    1,
    1,
    (s, [v]) => set(s, 'maxSessionExpiry', () => (s.config.maxSessionExpiry = duration(v!))),
  ],
  queue_qos0_messages: [
    1,
    1,
    (s, [v]) => set(s, 'queueQos0Messages', () => (s.config.queueQos0Messages = bool(v!))),
  ],
  check_retain_source: [
    1,
    1,
    (s, [v]) => set(s, 'checkRetainSource', () => (s.config.checkRetainSource = bool(v!))),
  ],
  use_username_as_clientid: [
    1,
    1,
    (s, [v]) => {
      const on = bool(v!);
      if (s.perListenerSettings && s.listeners.length > 0) {
        const { listener, path } = currentListener(s);
        set(s, `${path}.useUsernameAsClientId`, () => (listener.useUsernameAsClientId = on));
      } else {
        set(s, 'useUsernameAsClientId', () => (s.config.useUsernameAsClientId = on));
      }
    },
  ],
  // Without a bind address a listener takes every IPv4 address; ipv6 makes it "::" (Node's
  // dual stack: IPv4 clients are let in too, where mosquitto's ipv6 listener is IPv6 only).
  socket_domain: [
    1,
    1,
    (s, [v]) => {
      if (v !== 'ipv4' && v !== 'ipv6') throw new DirectiveError(`"${v}" is not ipv4 or ipv6`);
      const { listener, path } = currentListener(s);
      if (s.explicitHost.has(listener)) return;
      set(s, `${path}.host`, () => (listener.host = v === 'ipv4' ? '0.0.0.0' : '::'));
    },
  ],
};

/** persistent_client_expiration: a whole number and h d w m y (hour, day, week, month, year), as seconds. */
function duration(text: string): number {
  const match = /^(\d+)([hdwmy])$/.exec(text);
  if (!match)
    throw new DirectiveError(`"${text}" is not a duration (a whole number and h, d, w, m or y, e.g. 14d)`);
  const unit = { h: 3600, d: 86_400, w: 604_800, m: 2_592_000, y: 31_536_000 }[match[2] as 'h'];
  return Number(match[1]) * unit;
}

/**
 * Directives that tune what warden does another way: accepted (their value is not checked
 * beyond its count), each with one warning line at start saying what warden does instead.
 */
const TUNED_ELSEWHERE: Record<string, string> = {
  max_inflight_bytes: 'warden bounds in-flight messages by count (max_inflight_messages)',
  memory_limit:
    'warden has no process-wide memory cap; bound it with the service manager (systemd MemoryMax)',
  log_timestamp: 'every warden log line is JSON with its "time" (epoch ms)',
  log_timestamp_format: 'every warden log line is JSON with its "time" (epoch ms)',
  websockets_log_level: 'WebSocket events are logged at the broker log level (log_type)',
  log_facility: 'warden does not write to syslog (log_dest)',
  websockets_headers_size: "Node's HTTP parser reads WebSocket upgrade headers up to 16 KiB",
  allow_duplicate_messages:
    "a message matching several of one client's subscriptions is sent to it once, at the highest QoS, with every subscription identifier",
  auth_plugin_deny_special_chars:
    'warden loads no plugins, and its acl_file patterns never match a user name or client id holding + # or /',
};

/** Directives of features warden does not have, refused with what to use instead. */
const REFUSED: Record<string, string> = {
  plugin:
    'warden loads no plugins: authentication and authorization hooks are passed to createBroker() from warden/broker; dynamic security is password_file + acl_file, reloaded on change',
  auth_plugin: 'warden loads no plugins: pass authentication hooks to createBroker() from warden/broker',
  message_size_limit: 'deprecated in Mosquitto 2: use max_packet_size',
  clientid_prefixes: 'use an acl_file pattern or an authentication hook to admit clients by id',
  mount_point: 'per-listener topic prefixes are not supported',
  upgrade_outgoing_qos: 'not supported: messages go at the lower of the published and subscribed QoS',
  http_dir:
    'the WebSocket listener serves MQTT only (plain HTTP gets 426); serve files from a web server or reverse proxy in front',
  bind_interface: "bind to the interface's address instead: listener <port> <address>",
  tls_engine:
    "OpenSSL engines (keys in hardware) are not supported: give keyfile a PEM key, or use a PKCS#12 file (pfxFile in warden's own configuration)",
  tls_engine_kpass_sha1: 'OpenSSL engines are not supported (see tls_engine)',
  tls_keyform: "keys are read as PEM (keyfile) or PKCS#12 (pfxFile in warden's own configuration) only",
  accept_protocol_versions:
    'a Mosquitto 2.1 directive: warden, like Mosquitto 2.0, accepts MQTT 3.1, 3.1.1 and 5.0 on every listener',
  enable_control_api:
    'a Mosquitto 2.1 directive: warden has no $CONTROL topics; users and ACLs live in password_file and acl_file, reloaded when they change',
};

type TlsInput = NonNullable<ListenerInput['tls']>;
const pskFileOfListener: Handler = (s, args) => tlsDirective('pskFile', (v) => v)[2](s, args);
/** A directive that sets one TLS setting of the current listener. */
function tlsDirective<K extends keyof TlsInput>(
  key: K,
  value: (text: string, tls: Mutable<TlsInput>) => TlsInput[K],
): [number, number, Handler] {
  return [
    1,
    1,
    (s, [text]) => {
      const { listener, path } = currentListener(s);
      const tls: Mutable<TlsInput> = { ...listener.tls };
      tls[key] = value(text!, tls);
      listener.tls = tls;
      s.lines.set(`${path}.tls.${key}`, here(s));
      s.lines.set(`${path}.tls`, here(s));
    },
  ];
}

/** password_file / acl_file: for the current listener under per_listener_settings, else for all. */
function securityFile(key: 'passwordFile' | 'aclFile'): [number, number, Handler] {
  return [
    1,
    1,
    (s, [v]) => {
      if (s.perListenerSettings && s.listeners.length > 0) {
        const { listener, path } = currentListener(s);
        set(s, `${path}.${key}`, () => (listener[key] = v!));
      } else {
        set(s, key, () => (s.config[key] = v!));
      }
    },
  ];
}

function defaultListener(s: ReadState): Mutable<ListenerInput> {
  s.defaultListener ??= { protocol: 'mqtt', host: '0.0.0.0', port: 1883 };
  return s.defaultListener;
}

/** The configuration a mosquitto.conf describes, with the file:line that set each key path. */
export function readMosquittoConf(
  text: string,
  file: string,
): { input: BrokerConfigInput; source: ConfigSource; origins: ReadonlyMap<string, string> } {
  const s: ReadState = {
    config: {},
    listeners: [],
    perListenerSettings: false,
    allowAnonymousSet: false,
    lines: new Map(),
    file,
    line: 0,
    depth: 0,
    notes: [],
    explicitHost: new WeakSet(),
    bridges: [],
  };
  const problems: string[] = [];
  readLines(s, text, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { input: assemble(s), source: { file, locate: (path) => locate(s, path) }, origins: s.lines };
}

/** Every directive of one file, in order; problems are collected, not thrown, so all are told. */
function readLines(s: ReadState, text: string, problems: string[]): void {
  for (const [index, raw] of text.split('\n').entries()) {
    s.line = index + 1;
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, ...args] = line.split(/\s+/);
    const where = here(s);
    if (name === 'include_dir') {
      if (args.length === 1) includeDir(s, args[0]!, problems);
      else problems.push(`${where}: include_dir takes 1 value, got ${args.length}`);
      continue;
    }
    if (name! in TUNED_ELSEWHERE) {
      s.notes.push(`${where}: ${name} has no effect: ${TUNED_ELSEWHERE[name!]}`);
      continue;
    }
    const refusal = REFUSED[name!] ?? (name!.startsWith('plugin_opt_') ? REFUSED.plugin : undefined);
    if (refusal !== undefined) {
      problems.push(`${where}: ${name}: ${refusal}`);
      continue;
    }
    if (isBridgeDirective(name!)) {
      try {
        applyBridgeDirective(s.bridges, name!, args);
        s.lines.set(`bridges[${s.bridges.length - 1}]`, where);
      } catch (error) {
        problems.push(`${where}: ${name}: ${(error as Error).message}`);
      }
      continue;
    }
    const entry = directives[name!];
    if (entry === undefined) {
      problems.push(`${where}: unknown directive "${name}"`);
      continue;
    }
    const [min, max, handler] = entry;
    if (args.length < min || args.length > max) {
      const wanted = min === max ? `${min}` : `${min} or ${max}`;
      problems.push(`${where}: ${name} takes ${wanted} value${max > 1 ? 's' : ''}, got ${args.length}`);
      continue;
    }
    try {
      handler(s, args);
    } catch (error) {
      if (!(error instanceof DirectiveError)) throw error;
      problems.push(`${where}: ${name}: ${error.message}`);
    }
  }
}

/** As mosquitto: every file ending in .conf in the directory, in sorted order, read at this point. */
function includeDir(s: ReadState, dir: string, problems: string[]): void {
  const where = here(s);
  if (s.depth >= 8) {
    problems.push(`${where}: include_dir ${dir}: included more than 8 levels deep (does it include itself?)`);
    return;
  }
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.conf'))
      .sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problems.push(
      `${where}: include_dir ${dir}: ${code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : String(error)}`,
    );
    return;
  }
  const [file, line] = [s.file, s.line];
  s.depth++;
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${where}: include_dir: cannot read ${path}: ${(error as Error).message}`);
      continue;
    }
    s.file = path;
    readLines(s, text, problems);
  }
  s.depth--;
  s.file = file;
  s.line = line;
}

/**
 * Mosquitto 2.x: the `port`/`bind_address` listener comes first; with no listener at all the
 * broker listens on loopback 1883 only and, there, lets anonymous clients in ("local only mode").
 */
function assemble(s: ReadState): BrokerConfigInput {
  persistence(s);
  // Choices the spec leaves, answered as mosquitto 2.0 does (measured against 2.0.11).
  s.config.refuseUnreadableSubscriptions = false;
  s.config.refusedLoginCode = 'notAuthorized';
  // max_queued_bytes is 0 (no byte limit) unless set.
  s.config.maxQueuedBytes ??= 0;
  // set_tcp_nodelay is false unless set: Nagle's algorithm stays on.
  s.config.tcpNoDelay ??= false;
  // Mosquitto logs to stderr unless told otherwise.
  if (!s.config.logDest?.length) s.config.logDest = ['stderr'];
  if (s.notes.length > 0) s.config.notes = s.notes;
  if (s.bridges.length > 0) s.config.bridges = s.bridges as NonNullable<BrokerConfigInput['bridges']>;
  const listeners = [...(s.defaultListener ? [s.defaultListener] : []), ...s.listeners];
  for (const l of listeners) {
    if (s.pskFile && l.tls?.pskHint !== undefined && l.tls.pskFile === undefined)
      l.tls = { ...l.tls, pskFile: s.pskFile.file };
    proxiedCertificates(l);
  }
  if (listeners.length === 0) {
    return {
      ...s.config,
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 1883 }],
      allowAnonymous: s.allowAnonymousSet ? s.config.allowAnonymous : true,
    };
  }
  return { ...s.config, listeners };
}

/**
 * A PROXY protocol listener with no certificate of its own: require_certificate and
 * use_identity_as_username are about the client certificate the proxy verified (mosquitto 2.1).
 */
function proxiedCertificates(l: Mutable<ListenerInput>): void {
  const tls = l.tls;
  if (
    l.proxyProtocol === undefined ||
    tls === undefined ||
    tls.certFile !== undefined ||
    tls.pfxFile !== undefined
  )
    return;
  // use_subject_as_username stays, and is refused: the proxy sends the CN only.
  const { clientCertificates, usernameFrom, ...rest } = tls;
  if (clientCertificates !== undefined) l.proxyClientCertificates = clientCertificates;
  if (usernameFrom === 'cn') l.proxyUseIdentityAsUsername = true;
  const left = usernameFrom === undefined || usernameFrom === 'cn' ? rest : { ...rest, usernameFrom };
  if (Object.keys(left).length === 0) delete l.tls;
  else l.tls = left;
}

/** The file:line behind a schema key path; listener indexes shift by one when a default listener exists. */
function locate(s: ReadState, path: string): string | undefined {
  let key = path;
  if (s.defaultListener) {
    key = key.replace(/^listeners\[(\d+)\]/, (_m, i: string) =>
      Number(i) === 0 ? 'listeners[default]' : `listeners[${Number(i) - 1}]`,
    );
  }
  for (;;) {
    const line = s.lines.get(key);
    if (line !== undefined) return line;
    const cut = Math.max(key.lastIndexOf('.'), key.lastIndexOf('['));
    if (cut <= 0) return undefined;
    key = key.slice(0, cut);
  }
}
