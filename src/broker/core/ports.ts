// The interfaces the transport-neutral core talks through: a packet channel per client (the edge
// implements it over TCP, TLS or WebSocket), a clock for every timer, and a logger.

import type { Packet, ProtocolVersion } from '../../protocol/index.js';

/** Who the edge established the peer to be (a verified TLS client certificate, a PSK), before CONNECT. */
export interface PeerIdentity {
  readonly source: 'certificate' | 'psk';
  /** The certificate subject (RFC 4514) or "psk:<identity>", for logs. */
  readonly subject: string;
  /** Replaces the CONNECT user name (Mosquitto's use_identity_as_username). */
  readonly username?: string;
  /** Replaces the CONNECT client id, or must equal it when requireClientIdMatch. */
  readonly clientId?: string;
  readonly requireClientIdMatch: boolean;
}

/** A TLS connection as the edge saw it at the handshake. */
export interface PeerTls {
  readonly protocol: string;
  readonly cipher: string;
  /** The client certificate, when one was presented and verified. */
  readonly certificate?: {
    readonly subject: string;
    readonly issuer: string;
    /** ISO 8601. */
    readonly notAfter: string;
  };
}

/** What an authenticator is asked: everything known of the client at CONNECT. */
export interface AuthenticationRequest {
  /** The listener's URL. */
  readonly listener: string;
  /** "address:port" of the peer. */
  readonly remoteAddress: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: Buffer;
  /** What the edge established: a verified certificate or a PSK identity. */
  readonly identity?: PeerIdentity;
  readonly protocolVersion: ProtocolVersion;
}

/**
 * allow (optionally naming the user), deny (with the reason for the log and, on v5, a reason
 * code), or defer to the next in the chain. A chain where all defer denies.
 */
export type AuthenticationResult =
  | {
      readonly verdict: 'allow';
      readonly username?: string;
      /** v5 enhanced authentication: the method and its last data, told in the CONNACK. */
      readonly authentication?: { readonly method: string; readonly data?: Buffer };
    }
  | { readonly verdict: 'deny'; readonly reason: string; readonly reasonCode?: number }
  | { readonly verdict: 'defer' };

export interface Authenticator {
  authenticate(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult>;
}

/**
 * MQTT 5 enhanced authentication (AUTH packets) for one method, e.g. SCRAM-SHA-256: `start` sees
 * the CONNECT (or the re-authentication AUTH) and its Authentication Data; each step continues
 * with data for the client, or ends in success or failure.
 */
export interface EnhancedAuthenticator {
  readonly method: string;
  start(
    request: AuthenticationRequest & { readonly data?: Buffer },
  ): EnhancedAuthStep | Promise<EnhancedAuthStep>;
}

export type EnhancedAuthStep =
  | {
      readonly kind: 'continue';
      readonly data: Buffer;
      next(data: Buffer | undefined): EnhancedAuthStep | Promise<EnhancedAuthStep>;
    }
  | { readonly kind: 'success'; readonly username: string; readonly data?: Buffer }
  | { readonly kind: 'failure'; readonly reason: string; readonly reasonCode?: number };

export type AuthorizationAction = 'publish' | 'subscribe';

export interface AuthorizationRequest {
  readonly action: AuthorizationAction;
  /** The topic name (publish, receive) or filter (subscribe). */
  readonly topic: string;
  readonly username: string | undefined;
  readonly clientId: string;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

export type AuthorizationVerdict = 'allow' | 'deny' | 'defer';

/**
 * Synchronous answers keep the publish path free of promises; a Promise (a library hook) holds
 * the client's later packets back until it settles, so their order is kept.
 */
export interface Authorizer {
  authorize(request: AuthorizationRequest): AuthorizationVerdict | Promise<AuthorizationVerdict>;
  /**
   * The check of every delivery to one client: a message on `topic` may be delivered to it. It
   * runs for every message, so it answers synchronously (and may remember answers). Absent: every
   * delivery a subscription allowed is made.
   */
  readonly receiveCheck?: (username: string | undefined, clientId: string) => (topic: string) => boolean;
  /**
   * Whether a client may publish to `topic` under the rules in force now, answered synchronously
   * (the ACL file; hooks are not asked): a retained message's publisher is checked again when
   * the message is sent to a new subscriber (check_retain_source). Absent: no such check.
   */
  readonly publishCheck?: (username: string | undefined, clientId: string, topic: string) => boolean;
}

/** One client's packet stream, as the edge presents it to the core. */
export interface PacketChannel {
  /** "address:port" of the peer, for logs. */
  readonly remoteAddress: string;
  /** Set when the transport authenticated the peer (a verified client certificate). */
  readonly identity?: PeerIdentity;
  /** The TLS session, on mqtts and wss: for the admin API and its dashboard. */
  readonly tls?: PeerTls;
  /** Queues a packet; the edge encodes it with the version set below and batches writes. */
  send(packet: Packet): void;
  /** The version negotiated by CONNECT; packets are encoded with it from now on. */
  setProtocolVersion(version: ProtocolVersion): void;
  /**
   * True while the peer is not reading fast enough and the channel's outbound buffer is over its
   * limit: QoS 0 messages for it are dropped instead of buffered without bound.
   */
  readonly congested: boolean;
  /** Flushes what is queued, then closes. */
  close(): void;
  /**
   * Takes back packets the connection held while an answer was pending (CONNECT's
   * authentication, a hook), to hand them over again in order, under the edge's per-turn budget:
   * handled here they would all go in one go. Absent: the connection handles them itself.
   */
  requeue?(packets: Packet[]): void;
}

export interface Timer {
  cancel(): void;
}

/** Time and timers come from here, so keepalive and expiry tests can run on an exact clock. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
}

/** Lifecycle logging, structured; pino's shape. Per-packet tracing does not go here. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: object): Logger;
  /** pino's: false when lines of that level go nowhere (absent: every level is written). */
  isLevelEnabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

/** A platform timer as the core's Timer: one small object, no closure per timer. */
class PlatformTimer implements Timer {
  constructor(private readonly handle: ReturnType<typeof globalThis.setTimeout>) {}
  cancel(): void {
    globalThis.clearTimeout(this.handle);
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const handle = globalThis.setTimeout(callback, ms);
    handle.unref?.();
    return new PlatformTimer(handle);
  },
};
