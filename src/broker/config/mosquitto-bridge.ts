// The bridge directives of mosquitto.conf(5), read into the native `bridges` schema. A
// `connection <name>` line starts a bridge; the directives after it set that bridge. Those warden
// does not carry yet are refused by name, so that no bridge runs other than as written.

import type { BrokerConfigInput } from './config-schema.js';

type BridgeInput = NonNullable<BrokerConfigInput['bridges']>[number];
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type MutableBridge = Mutable<Partial<BridgeInput>> & { name: string };

const bool = (v: string) => {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Error(`"${v}" is not true or false`);
};

const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`"${v}" is not a positive number`);
  return n;
};

/** mosquitto writes an empty prefix as "" */
const prefix = (v: string | undefined) => (v === undefined || v === '""' ? '' : v);

function address(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text);
  if (!match) throw new Error(`"${text}" is not host[:port]`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: match[2] === undefined ? 1883 : Number(match[2]) };
}

type Apply = (bridge: MutableBridge, args: readonly string[]) => void;

/** name -> [fewest values, most values, apply]. */
const DIRECTIVES: Record<string, [number, number, Apply]> = {
  address: [1, 64, (b, args) => (b.addresses = args.map(address))],
  addresses: [1, 64, (b, args) => (b.addresses = args.map(address))],
  topic: [
    1,
    5,
    (b, [pattern, direction = 'out', qos = '0', local, remote]) => {
      if (direction !== 'out' && direction !== 'in' && direction !== 'both')
        throw new Error(`"${direction}" is not out, in or both`);
      if (qos !== '0' && qos !== '1' && qos !== '2') throw new Error(`"${qos}" is not a QoS (0, 1 or 2)`);
      const topics = (b.topics ?? []) as Array<NonNullable<BridgeInput['topics']>[number]>;
      topics.push({
        pattern: pattern!,
        direction,
        qos: Number(qos) as 0 | 1 | 2,
        localPrefix: prefix(local),
        remotePrefix: prefix(remote),
      });
      b.topics = topics;
    },
  ],
  remote_clientid: [1, 1, (b, [v]) => (b.remoteClientId = v!)],
  local_clientid: [1, 1, (b, [v]) => (b.localClientId = v!)],
  remote_username: [1, 1, (b, [v]) => (b.remoteUsername = v!)],
  remote_password: [1, 1, (b, [v]) => (b.remotePassword = v!)],
  cleansession: [1, 1, (b, [v]) => (b.cleanSession = bool(v!))],
  keepalive_interval: [1, 1, (b, [v]) => (b.keepAlive = number(v!))],
  restart_timeout: [
    1,
    2,
    (b, [base, cap]) => {
      const first = number(base!);
      b.restartTimeout = { base: first, cap: cap === undefined ? Math.max(first, 30) : number(cap) };
    },
  ],
  notifications: [1, 1, (b, [v]) => (b.notifications = bool(v!))],
  notification_topic: [1, 1, (b, [v]) => (b.notificationTopic = v!)],
  local_cleansession: [1, 1, (b, [v]) => (b.localCleanSession = bool(v!))],
  try_private: [1, 1, (b, [v]) => (b.tryPrivate = bool(v!))],
  round_robin: [1, 1, (b, [v]) => (b.roundRobin = bool(v!))],
  start_type: [
    1,
    1,
    (b, [v]) => {
      if (v === 'automatic' || v === 'once') b.startType = v;
      else if (v === 'lazy') throw new Error('"lazy" is not supported by warden bridges (automatic or once)');
      else throw new Error(`"${v}" is not automatic, lazy or once`);
    },
  ],
  bridge_max_packet_size: [1, 1, (b, [v]) => (b.maxPacketSize = number(v!))],
  bridge_protocol_version: [
    1,
    1,
    (b, [v]) => {
      if (v === 'mqttv311') b.protocolVersion = 4;
      else if (v === 'mqttv50') b.protocolVersion = 5;
      else throw new Error(`"${v}" is not supported: warden bridges speak mqttv311 and mqttv50`);
    },
  ],
  bridge_outgoing_retain: [1, 1, (b, [v]) => (b.outgoingRetain = bool(v!))],
  bridge_cafile: [1, 1, (b, [v]) => (b.tls = { ...b.tls, caFile: v! })],
  bridge_certfile: [1, 1, (b, [v]) => (b.tls = { ...b.tls, certFile: v! })],
  bridge_keyfile: [1, 1, (b, [v]) => (b.tls = { ...b.tls, keyFile: v! })],
  bridge_insecure: [1, 1, (b, [v]) => (b.tls = { ...b.tls, insecure: bool(v!) })],
  bridge_capath: [1, 1, (b, [v]) => (b.tls = { ...b.tls, caPath: v! })],
  bridge_alpn: [1, 1, (b, [v]) => (b.tls = { ...b.tls, alpn: v!.split(',') })],
  bridge_tls_version: [
    1,
    1,
    (b, [v]) => {
      const version = { 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' }[v!] as 'TLSv1.2' | 'TLSv1.3' | undefined;
      if (version === undefined)
        throw new Error(`"${v}" is not supported: warden speaks tlsv1.2 and tlsv1.3 (never older)`);
      b.tls = { ...b.tls, minVersion: version };
    },
  ],
  bridge_identity: [1, 1, (b, [v]) => (b.tls = { ...b.tls, psk: { key: '', ...b.tls?.psk, identity: v! } })],
  bridge_psk: [1, 1, (b, [v]) => (b.tls = { ...b.tls, psk: { identity: '', ...b.tls?.psk, key: v! } })],
};

/** Every bridge directive mosquitto.conf(5) has: the ones above, and the rest refused. */
export function isBridgeDirective(name: string): boolean {
  return name in DIRECTIVES || name === 'connection' || NOT_YET.has(name) || name.startsWith('bridge_');
}

const NOT_YET = new Set(
  'local_password local_username notifications_local_only threshold idle_timeout'.split(' '),
);

/** Applies one bridge directive; throws an Error saying what is wrong. */
export function applyBridgeDirective(bridges: MutableBridge[], name: string, args: readonly string[]): void {
  if (name === 'connection') {
    if (args.length !== 1) throw new Error(`takes 1 value, got ${args.length}`);
    bridges.push({ name: args[0]! });
    return;
  }
  const entry = DIRECTIVES[name];
  if (entry === undefined)
    throw new Error('not supported by warden bridges yet (see the bridge issue); nothing was bridged');
  const bridge = bridges.at(-1);
  if (bridge === undefined) throw new Error('needs a "connection <name>" line before it');
  const [min, max, apply] = entry;
  if (args.length < min || args.length > max)
    throw new Error(
      `takes ${min === max ? min : `${min} to ${max}`} value${max > 1 ? 's' : ''}, got ${args.length}`,
    );
  apply(bridge, args);
}
