// What a packet handler may use of its connection: the core, the session, sending, refusing.
// An interface, so handlers and the connection do not import each other.

import type { Packet, ProtocolVersion } from '../../../protocol/index.js';
import type { BrokerCore } from '../broker-core.js';
import type { ListenerPolicy } from '../listener-policy.js';
import type { Message } from '../message.js';
import type { PeerLimits } from '../outbound-flow.js';
import type { Logger, PeerIdentity } from '../ports.js';
import type { Session } from '../session.js';

export interface ConnectionContext {
  readonly core: BrokerCore;
  readonly logger: Logger;
  readonly version: ProtocolVersion;
  /** A 3.1 / 3.1.1 bridge (try_private): its subscriptions are No Local and Retain As Published. */
  readonly bridge: boolean;
  /** The listener the client came through. */
  readonly listener: ListenerPolicy;
  /** What the transport established about the peer (a verified client certificate). */
  readonly identity: PeerIdentity | undefined;
  /** Set by CONNECT; every other handler runs only once it is set. */
  readonly session: Session | undefined;
  send(packet: Packet): void;
  /**
   * Sends an acknowledgement (CONNACK, SUBACK, PUBACK, ...) once every store write made so far is
   * durable; later packets to this client wait behind it, so their order is kept.
   */
  acknowledge(packet: Packet): void;
  /** v5: DISCONNECT with the reason code, then close; v3: close [MQTT-4.13.1-1]. */
  disconnect(reasonCode: number, reason: string): void;
  /** Topic aliases the client set for its PUBLISHes on this connection. */
  readonly inboundAliases: Map<number, string>;
  /** An acknowledgement freed a place in the in-flight window. */
  acknowledged(): void;
  /** Logs a warning the first time `what` happens on this connection only: a flood logs one line. */
  logOnce(what: string, fields: object, message: string): void;
  /** The connection is gone (checked after an await). */
  isClosed(): boolean;
}

/** The handlers' view after CONNECT succeeded. */
export interface ConnectedContext extends ConnectionContext {
  readonly session: Session;
}

/** What CONNECT settles for the rest of the connection. */
export interface ConnectOutcome {
  readonly version: ProtocolVersion;
  readonly session: Session;
  /** The authenticated user name (a certificate's, or the CONNECT one); undefined when anonymous. */
  readonly username: string | undefined;
  readonly keepAlive: number;
  readonly will: Message | undefined;
  readonly limits: PeerLimits;
}
