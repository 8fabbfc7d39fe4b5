// One client connection: CONNECT first, then packets in order to their handlers; keepalive;
// delivery of routed messages; will on abnormal close; every close with a reason.

import { type Packet, type ProtocolError, type ProtocolVersion, ReasonCode } from '../../protocol/index.js';
import { BoundLogger } from './bound-logger.js';
import type { BrokerCore } from './broker-core.js';
import { ClientAuthentication } from './client-authentication.js';
import { handleAck } from './handlers/acks.js';
import { handleConnect } from './handlers/connect.js';
import type { ConnectedContext, ConnectOutcome } from './handlers/context.js';
import { handlePublish } from './handlers/publish.js';
import { handleSubscribe, handleUnsubscribe } from './handlers/subscribe.js';
import { type ListenerPolicy, listenerPolicy } from './listener-policy.js';
import type { Message } from './message.js';
import { OutboundFlow } from './outbound-flow.js';
import type { AuthenticationResult, Logger, PacketChannel, Timer } from './ports.js';
import type { DeliveryOptions, Session, SessionOwner } from './session.js';

type State = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

/** A packet waiting behind an acknowledgement whose store write is not yet durable. */
interface Deferred {
  packet: Packet | undefined;
  ready: boolean;
}

/** Packets, and payload bytes, a client may send ahead of its CONNACK or of a pending authorization. */
const MAX_HELD_PACKETS = 1000;
const MAX_HELD_BYTES = 4 * 1024 * 1024;

export class Connection implements ConnectedContext, SessionOwner {
  readonly core: BrokerCore;
  readonly channel: PacketChannel;
  readonly listener: ListenerPolicy;
  logger: Logger;
  version: ProtocolVersion = 4;
  bridge = false;
  #loggedOnce: Set<string> | undefined;
  #session: Session | undefined;
  #state: State = 'awaiting-connect';
  #will: Message | undefined;
  #lastActivity = 0;
  #timer: Timer | undefined;
  #flow: OutboundFlow | undefined;
  #inboundAliases: Map<number, string> | undefined;
  /** Topic aliases the client set; made on its first alias. */
  get inboundAliases(): Map<number, string> {
    this.#inboundAliases ??= new Map();
    return this.#inboundAliases;
  }
  readonly #authentication = new ClientAuthentication(this);
  /** Packets that arrived while CONNECT or an authorization was being decided, in order. */
  #held: Packet[] | undefined;
  #heldBytes = 0;
  /** Packets waiting for a store commit, in order; undefined while nothing waits. */
  #deferred: Deferred[] | undefined;
  /** Set by CONNECT: the user name the client is known by, for authorization. */
  username: string | undefined;
  /** Clock time CONNECT was accepted, and the keep alive in force; undefined before. */
  connectedAt: number | undefined;
  keepAlive: number | undefined;

  constructor(core: BrokerCore, channel: PacketChannel, listener = listenerPolicy('memory')) {
    this.core = core;
    this.channel = channel;
    this.listener = listener;
    this.logger = new BoundLogger(core.options.logger, { remote: channel.remoteAddress });
    core.owners.add(this);
    // [MQTT-3.1.4-1 (non-normative)]: a connection that never sends CONNECT is closed.
    this.#timer = core.scheduler.after(core.options.connectTimeoutMs, () => {
      if (this.#state === 'awaiting-connect' || this.#state === 'authenticating')
        this.#close('not connected within the connect timeout');
    });
  }

  get identity() {
    return this.channel.identity;
  }

  /** Past CONNECT and not closed: a client the admin API lists. */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** The session of a connected client (undefined before CONNECT). */
  get currentSession(): Session | undefined {
    return this.#session;
  }

  get session(): Session {
    return this.#session!;
  }

  /** The edge calls this for each decoded packet, in order. */
  handle(packet: Packet): void {
    if (this.#state === 'closed') return;
    // An enhanced authentication exchange takes its AUTH packets even while others are held.
    if (packet.type === 'auth' && this.#authentication.answer(packet)) return;
    if (this.#held !== undefined) {
      // [MQTT-3.1.4-5 (v5)]: nothing after CONNECT is processed before the client is authenticated;
      // an authorization being decided holds later packets back the same way, keeping their order.
      if (packet.type === 'publish') this.#heldBytes += packet.payload.length;
      if (this.#held.length >= MAX_HELD_PACKETS || this.#heldBytes > MAX_HELD_BYTES) {
        this.disconnect(
          ReasonCode.QuotaExceeded,
          `more than ${MAX_HELD_PACKETS} packets or ${MAX_HELD_BYTES} bytes sent ahead of an answer`,
        );
        return;
      }
      this.#held.push(packet);
      return;
    }
    const pending = this.#dispatch(packet);
    if (pending !== undefined) this.#holdUntil(pending);
  }

  /** A method, so TypeScript does not narrow the state across an await. */
  isClosed(): boolean {
    return this.#state === 'closed';
  }

  /**
   * Holds packets until `pending` settles, then handles them in order (they may pause again);
   * `carried` are packets already held behind the one that paused, counted against the bounds.
   */
  #holdUntil(pending: Promise<void>, carried: Packet[] = []): void {
    this.#held = carried;
    this.#heldBytes = 0;
    for (const packet of carried) if (packet.type === 'publish') this.#heldBytes += packet.payload.length;
    pending
      .catch((error: unknown) => {
        this.logger.error({ error: String(error) }, 'packet handling failed');
        this.disconnect(ReasonCode.UnspecifiedError, 'internal error');
      })
      .finally(() => {
        const held = this.#held ?? [];
        this.#held = undefined;
        if (held.length > 0 && this.channel.requeue && this.#state !== 'closed') {
          this.channel.requeue(held);
          return;
        }
        for (let i = 0; i < held.length; i++) {
          if (this.#state === 'closed') return;
          const next = this.#dispatch(held[i]!);
          if (next !== undefined) {
            this.#holdUntil(next, held.slice(i + 1));
            return;
          }
        }
      });
  }

  /** Handles one packet; a Promise when the answer waits on something (authentication, a hook). */
  #dispatch(packet: Packet): Promise<void> | undefined {
    const stats = this.core.stats;
    stats.packetsReceived++;
    if (packet.type === 'publish') {
      stats.publishReceived++;
      stats.publishReceivedByQos[packet.qos]++;
    }
    this.#lastActivity = this.core.options.clock.now();
    if (this.#state === 'awaiting-connect') {
      if (packet.type !== 'connect') {
        this.#close(`first packet was ${packet.type.toUpperCase()}, not CONNECT [MQTT-3.1.0-1]`);
        return;
      }
      return this.#connect(packet);
    }
    switch (packet.type) {
      case 'publish':
        return handlePublish(this, packet);
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        handleAck(this, packet);
        return;
      case 'subscribe':
        return handleSubscribe(this, packet);
      case 'unsubscribe':
        handleUnsubscribe(this, packet);
        return;
      case 'pingreq':
        this.send({ type: 'pingresp' });
        return;
      case 'disconnect': {
        const expiry = packet.properties?.sessionExpiryInterval;
        if (expiry !== undefined) {
          // [MQTT-3.14.2-2]: a session that was to end with its connection cannot be extended here.
          if (this.session.expiryInterval === 0 && expiry !== 0) {
            this.disconnect(
              ReasonCode.ProtocolError,
              'DISCONNECT sets a Session Expiry Interval after CONNECT set 0',
            );
            return;
          }
          this.session.expiryInterval = expiry;
        }
        // [MQTT-3.14.4-3]: a normal DISCONNECT discards the will; v5 0x04 asks for it.
        if (packet.reasonCode !== ReasonCode.DisconnectWithWillMessage) this.#will = undefined;
        this.#close('client disconnected', packet.reasonCode !== ReasonCode.DisconnectWithWillMessage);
        return;
      }
      case 'connect':
        this.disconnect(ReasonCode.ProtocolError, 'second CONNECT [MQTT-3.1.0-2]');
        return;
      case 'auth':
        this.#authentication.reauthenticate(packet, this.session.clientId, this.username);
        return;
      default:
        this.disconnect(ReasonCode.ProtocolError, `${packet.type.toUpperCase()} is sent by servers only`);
        return;
    }
  }

  /** The edge's decoder refused the byte stream. */
  protocolError(error: ProtocolError): void {
    if (this.#state === 'awaiting-connect' && error.code === 'ERR_UNSUPPORTED_PROTOCOL_VERSION') {
      // [MQTT-3.1.2-2]: answer 0x01 in the 3.1.1 form every client version can read.
      this.channel.send({ type: 'connack', sessionPresent: false, reasonCode: 0x01 });
    } else if (this.#state === 'connected' && this.version === 5) {
      this.send({
        type: 'disconnect',
        reasonCode: error.reasonCode,
        properties: { reasonString: error.message },
      });
    }
    this.#close(`protocol error ${error.code}: ${error.message}`);
  }

  /** The transport closed (peer went away, socket error). */
  closed(): void {
    this.#close('connection lost');
  }

  send(packet: Packet): void {
    if (this.#state === 'closed') return;
    if (this.#deferred !== undefined) {
      this.#deferred.push({ packet, ready: true });
      return;
    }
    this.#write(packet);
  }

  acknowledge(packet: Packet): void {
    const commits = this.core.commits;
    if (this.#state === 'closed') return;
    if (commits.idle && this.#deferred === undefined) {
      this.#write(packet);
      return;
    }
    const entry: Deferred = { packet, ready: false };
    this.#deferred ??= [];
    this.#deferred.push(entry);
    commits.afterCommit((kept) => {
      entry.ready = true;
      if (!kept) entry.packet = undefined;
      this.#flushDeferred();
      // Withheld: closing lets the client resend it on reconnect [MQTT-4.4.0-1].
      if (!kept)
        this.disconnect(ReasonCode.UnspecifiedError, 'the broker could not store what this client sent');
    });
  }

  /** Sends, in order, what no longer waits for a commit. */
  #flushDeferred(): void {
    const deferred = this.#deferred;
    if (deferred === undefined) return;
    let sent = 0;
    while (sent < deferred.length && deferred[sent]!.ready) {
      const packet = deferred[sent++]!.packet;
      if (packet !== undefined) this.#write(packet);
    }
    deferred.splice(0, sent);
    if (deferred.length === 0) this.#deferred = undefined;
  }

  #write(packet: Packet): void {
    if (this.#state === 'closed') return;
    const stats = this.core.stats;
    stats.packetsSent++;
    if (packet.type === 'publish') {
      stats.publishSent++;
      stats.publishSentByQos[packet.qos]++;
    }
    this.channel.send(packet);
  }

  disconnect(reasonCode: number, reason: string): void {
    if (this.version === 5 && this.#state === 'connected') {
      // What still waits for a commit goes with the connection: the client resends it on return.
      this.#deferred = undefined;
      this.#write({ type: 'disconnect', reasonCode, properties: { reasonString: reason } });
    }
    this.#close(reason);
  }

  /** A newer connection with the same client id takes the session [MQTT-3.1.4-3]. */
  takeover(): void {
    this.disconnect(ReasonCode.SessionTakenOver, 'session taken over by a new connection');
  }

  shutdown(): void {
    this.disconnect(ReasonCode.ServerShuttingDown, 'broker shutting down');
  }

  deliver(message: Message, options: DeliveryOptions): void {
    this.#flow?.deliver(message, options);
  }

  logOnce(what: string, fields: object, message: string): void {
    this.#loggedOnce ??= new Set();
    if (this.#loggedOnce.has(what)) return;
    this.#loggedOnce.add(what);
    this.logger.warn(fields, message);
  }

  acknowledged(): void {
    this.#flow?.drain();
  }

  /** Asks who the client is; synchronous when the answer comes at once (the core's own, the tests'). */
  #connect(packet: Packet & { type: 'connect' }): Promise<void> | undefined {
    this.version = packet.protocolVersion;
    this.bridge = packet.bridge === true;
    this.channel.setProtocolVersion(packet.protocolVersion);
    this.#state = 'authenticating';
    const answer = this.#authentication.connect(packet);
    if (!(answer instanceof Promise)) return this.#accept(packet, answer);
    return answer.then((result) => {
      if (!this.isClosed()) return this.#accept(packet, result); // else gone while it was decided
    });
  }

  /** The CONNECT steps with the authenticator's answer: CONNACK, accepted or refused. */
  #accept(
    packet: Packet & { type: 'connect' },
    authentication: AuthenticationResult,
  ): Promise<void> | undefined {
    this.#timer?.cancel();
    const outcome = handleConnect(this, packet, this, authentication);
    if (outcome instanceof Promise) return outcome.then((settled) => this.#connected(packet, settled));
    return this.#connected(packet, outcome);
  }

  #connected(packet: Packet & { type: 'connect' }, outcome: ConnectOutcome | undefined): undefined {
    if (outcome === undefined) {
      this.#close('connection refused');
      return;
    }
    this.#session = outcome.session;
    outcome.session.username = outcome.username;
    outcome.session.mayReceive = this.listener.authorizer?.receiveCheck?.(
      outcome.username,
      outcome.session.clientId,
    );
    this.username = outcome.username;
    this.#will = outcome.will;
    this.#state = 'connected';
    this.connectedAt = this.core.options.clock.now();
    this.keepAlive = outcome.keepAlive;
    this.listener.connected++;
    const stats = this.core.stats;
    if (++stats.clientsConnected > stats.clientsMaximum) stats.clientsMaximum = stats.clientsConnected;
    this.logger = this.logger.child({ clientId: outcome.session.clientId });
    this.logger.info(
      {
        version: packet.protocolVersion,
        keepAlive: outcome.keepAlive,
        username: outcome.username,
        certificate: this.channel.identity?.subject,
      },
      'client connected',
    );
    this.#flow = new OutboundFlow(
      outcome.session,
      packet.protocolVersion,
      outcome.limits,
      (p) => this.send(p),
      {
        channel: this.channel,
        clock: this.core.options.clock,
        stats: this.core.stats,
        logger: this.logger,
      },
    );
    this.#startKeepAlive(outcome.keepAlive);
    this.#flow.resume();
  }

  /** [MQTT-3.1.2-24]: no packet within 1.5 times the keep alive closes the connection. */
  #startKeepAlive(keepAliveSeconds: number): void {
    if (keepAliveSeconds === 0) return;
    const limitMs = keepAliveSeconds * 1500;
    const check = () => {
      const idle = this.core.options.clock.now() - this.#lastActivity;
      if (idle >= limitMs) {
        this.disconnect(
          ReasonCode.KeepAliveTimeout,
          `no packet for ${idle} ms (keep alive ${keepAliveSeconds} s)`,
        );
        return;
      }
      this.#timer = this.core.scheduler.after(limitMs - idle, check);
    };
    this.#timer = this.core.scheduler.after(limitMs, check);
  }

  #close(reason: string, normal = false): void {
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    this.#timer?.cancel();
    this.core.owners.delete(this);
    this.channel.close();
    if (!wasConnected) return;
    this.listener.connected--;
    this.core.stats.clientsConnected--;
    const session = this.#session!;
    if (session.owner === this) {
      this.core.sessionDisconnected(session, this.#will);
    } else if (this.#will !== undefined) {
      this.core.publishWill(this.#will); // taken over: the session lives on with its new owner
    }
    this.logger.info({ reason, normal }, 'client disconnected');
  }
}
