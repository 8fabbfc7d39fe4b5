// Where the cluster keeps what it shares in Redis (one Redis, not Redis Cluster: the scripts
// touch keys they compute). `<token>` is "<epoch>@<node>": a fencing token, unique for ever.
//
//   warden:log                 stream: every message published, and claims and hand-overs
//   warden:cursors             hash node -> last log entry the node routed and committed
//   warden:epoch               counter for fencing tokens
//   warden:nodes               set of the nodes that joined (and have not been forgotten)
//   warden:node:<node>         the node's heartbeat, expires when the node stops beating
//   warden:owned:<node>        set of client ids the node owns
//   warden:owner:<clientId>    the token of the node that owns the client id
//   warden:session:<clientId>  the session record (JSON)
//   warden:queued:<clientId>   hash seq -> kept message (JSON, naming its message key)
//   warden:inbound:<clientId>  set of QoS 2 packet ids received and not released
//   warden:msg:<key>           hash f: frame, r: how many kept messages refer to it
//   warden:retained            hash topic -> frame
//   warden:shares              set of the shared groups with members ("<share name>/<filter>")
//   warden:share:<group>       set of the group's members' client ids

export const LOG = 'warden:log';
export const CURSORS = 'warden:cursors';
export const NODES = 'warden:nodes';
export const nodeKey = (node: string) => `warden:node:${node}`;
export const ownedKey = (node: string) => `warden:owned:${node}`;
export const ownerKey = (clientId: string) => `warden:owner:${clientId}`;
export const sessionKey = (clientId: string) => `warden:session:${clientId}`;
export const queuedKey = (clientId: string) => `warden:queued:${clientId}`;
export const inboundKey = (clientId: string) => `warden:inbound:${clientId}`;
export const messageKey = (key: string) => `warden:msg:${key}`;

/** The node a fencing token belongs to. */
export const tokenNode = (token: string) => token.slice(token.indexOf('@') + 1);

/** The log is trimmed to what every node has routed, and never beyond this many entries. */
export const LOG_MAX_ENTRIES = 1_000_000;

/** Milliseconds between heartbeats, and how long one lasts: a node silent this long is dead. */
export const HEARTBEAT_MS = 1000;
export const HEARTBEAT_TTL_MS = 3000;

/** Compares two stream ids ("ms-seq"). */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const byMs = Number(am) - Number(bm);
  return byMs !== 0 ? byMs : Number(as) - Number(bs);
}
