// A byte stream (TCP socket, TLS socket, WebSocket stream) as a PacketChannel: bytes ->
// FrameDecoder -> the connection, packets -> encoder -> stream, with the writes of one tick
// batched under cork. A failure in one client's packet handling closes that client only.
// Memory stays bounded per client: past OUTBOUND_LIMIT bytes waiting for the peer, the channel is
// congested (the core drops QoS 0 for it) and reading from that peer pauses until it drains.

import type { Duplex } from 'node:stream';
import {
  encodePacket,
  FrameDecoder,
  type Packet,
  ProtocolError,
  type ProtocolVersion,
  userPropertyCount,
} from '../../protocol/index.js';
import type { BrokerStats } from '../core/broker-stats.js';
import type { Logger, PacketChannel, PeerIdentity, PeerTls } from '../core/ports.js';
import type { ConnectionLimits } from './connection-gate.js';
import { publishBytes, ZERO_COPY_PAYLOAD } from './publish-encoding.js';
import type { RefusalLog } from './refusal-log.js';
import { traces } from './trace-channels.js';

/** What the core gives back for a channel: where decoded packets and transport events go. */
export interface ConnectionHandle {
  handle(packet: Packet): void;
  /** v5: DISCONNECT with the reason, then close; v3: close. */
  disconnect(reasonCode: number, reason: string): void;
  protocolError(error: ProtocolError): void;
  closed(): void;
}

export type Accept = (channel: PacketChannel) => ConnectionHandle;

export interface SocketChannelOptions {
  readonly maxPacketSize: number;
  /** Disables Nagle's algorithm on TCP (Mosquitto's set_tcp_nodelay); writes are batched per tick anyway. */
  readonly tcpNoDelay: boolean;
  readonly logger: Logger;
  readonly stats: Pick<
    BrokerStats,
    'bytesReceived' | 'bytesSent' | 'handshakeFailures' | 'handshakeFailuresByListener' | 'tlsHandshakes'
  >;
  /** Told how long each admitted TLS handshake took (for the metrics histogram). */
  readonly observer?: EdgeObserver;
  /** Refusals before MQTT logged once per source and reason; absent: each one logged. */
  readonly refusals?: RefusalLog;
  /** The listener's limits on connections not past CONNECT and per address; absent: none. */
  readonly connectionLimits?: ConnectionLimits;
}

export interface EdgeObserver {
  tlsHandshake(listener: string, seconds: number): void;
}

/** Every PINGRESP is these two bytes: one buffer for all (written buffers are never changed). */
const PINGRESP = Buffer.from([0xd0, 0x00]);

/** Bytes written and not yet taken by the peer beyond which the channel counts as congested. */
export const OUTBOUND_LIMIT = 1024 * 1024;

/**
 * What one connection may do in one turn of the event loop, in packets (a PUBLISH counts one per
 * KB and per 64 user properties, a SUBSCRIBE one per 8 filters; a fan-out is bounded in time, see
 * `packetsOut`): enough that a busy client's
 * chunk goes in a turn or two, little enough that the others are served between.
 */
const TURN_BUDGET = 64;

/**
 * The turn of the event loop now: advanced once per turn in which some connection did work, so
 * that what a connection spent is counted per turn, across every chunk one poll reads from it
 * (libuv reads a socket up to 32 times per poll while its data lasts).
 */
let currentTurn = 0;
let turnAdvancing = false;
const advanceTurn = () => {
  currentTurn++;
  turnAdvancing = false;
};
function turnNow(): number {
  if (!turnAdvancing) {
    turnAdvancing = true;
    setImmediate(advanceTurn);
  }
  return currentTurn;
}

/**
 * Packets every channel of this process was given to send. A PUBLISH to many subscribers is a
 * delivery's work per subscriber, which its own cost does not show: once a connection's packets
 * have made the broker send FAN_OUT_CHECK packets, the clock is read, and past TURN_MS of work the
 * turn ends for it. Counting the deliveries as packets instead would end a busy fan-out's turn
 * after one publish, and each subscriber would get a write per message, not one per turn.
 */
let packetsOut = 0;
const FAN_OUT_CHECK = 64;
const TURN_MS = 1;

function cost(packet: Packet): number {
  if (packet.type === 'publish')
    return 1 + (packet.payload.length >> 10) + (userPropertyCount(packet.properties) >> 6);
  if (packet.type === 'subscribe' || packet.type === 'unsubscribe')
    return 1 + (('subscriptions' in packet ? packet.subscriptions.length : packet.topicFilters.length) >> 3);
  return 1;
}

/** How long an ended socket may take to flush what was written last before it is cut. */
const LINGER_MS = 2000;

/** Ends `socket` after `last`; a peer that never reads does not keep it half-open past LINGER_MS. */
export function endWithin(socket: Duplex, last?: Buffer): void {
  if (last) socket.end(last);
  else socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** `remoteAddress` is "address:port" of the peer, for logs; `identity` and `tls` what TLS established. */
export function attachSocket(
  socket: Duplex,
  remoteAddress: string,
  accept: Accept,
  options: SocketChannelOptions,
  identity?: PeerIdentity,
  tls?: PeerTls,
): ConnectionHandle {
  return new SocketChannel(socket, remoteAddress, accept, options, identity, tls).connection;
}

/**
 * One socket's channel. A class, not closures over the socket: every connection has one, and
 * its methods live once on the prototype where a dozen closures per connection cost about a
 * kilobyte each time a client connects.
 */
class SocketChannel implements PacketChannel {
  readonly connection: ConnectionHandle;
  readonly #socket: Duplex;
  readonly #options: SocketChannelOptions;
  readonly #decoder: FrameDecoder;
  #version: ProtocolVersion = 4;
  // What this tick sent, written at its end: one write for a lone packet (the common case at low
  // rates, where writev's bookkeeping would cost more), one corked writev for several.
  #pending: Buffer[] = [];
  // The tick's packets hold a PUBLISH, and the last is an acknowledgement: see #flush.
  #publishPending = false;
  #ackLast = false;
  // Packets decoded and not handled yet: a chunk holds hundreds of small packets, and one client
  // must not hold the event loop for all of them while the others wait (a PINGREQ storm, a flood
  // of retained messages). A turn handles TURN_BUDGET's worth; past it reading pauses and the
  // rest waits for the next turn of the loop, in order.
  #backlog: Packet[] = [];
  #next = 0;
  #scheduled = false;
  /** What this connection handled in the turn `#spentIn`. */
  #spent = 0;
  #spentIn = -1;
  /** A malformed chunk after the backlog: told once the packets before it are handled. */
  #failed: ProtocolError | undefined;

  static readonly #flushLater = (channel: SocketChannel) => channel.#flush();
  static readonly #turnLater = (channel: SocketChannel) => channel.#turn();

  constructor(
    socket: Duplex,
    readonly remoteAddress: string,
    accept: Accept,
    options: SocketChannelOptions,
    readonly identity?: PeerIdentity,
    readonly tls?: PeerTls,
  ) {
    this.#socket = socket;
    this.#options = options;
    this.#decoder = new FrameDecoder({ maxPacketSize: options.maxPacketSize, requireConnectFirst: true });
    this.connection = accept(this);
    if (traces.connectionOpen.hasSubscribers) traces.connectionOpen.publish({ remote: remoteAddress, tls });
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('error', (error) =>
      options.logger.debug({ remote: remoteAddress, error: error.message }, 'socket error'),
    );
    socket.on('close', () => this.#closed());
  }

  get congested(): boolean {
    return this.#socket.writableLength > OUTBOUND_LIMIT;
  }

  send(packet: Packet): void {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    packetsOut++;
    if (traces.packetOut.hasSubscribers) traces.packetOut.publish({ remote: this.remoteAddress, packet });
    const pending = this.#pending;
    if (pending.length === 0) process.nextTick(SocketChannel.#flushLater, this);
    if (!this.#options.tcpNoDelay) {
      this.#ackLast = packet.type === 'puback' || packet.type === 'pubrec' || packet.type === 'pubcomp';
      if (packet.type === 'publish') this.#publishPending = true;
    }
    const stats = this.#options.stats;
    if (packet.type === 'publish') {
      const bytes = publishBytes(packet, this.#version);
      if (packet.payload.length > ZERO_COPY_PAYLOAD) {
        stats.bytesSent += bytes.length + packet.payload.length;
        pending.push(bytes, packet.payload);
      } else {
        stats.bytesSent += bytes.length;
        pending.push(bytes);
      }
    } else {
      const bytes = packet.type === 'pingresp' ? PINGRESP : encodePacket(packet, this.#version);
      stats.bytesSent += bytes.length;
      pending.push(bytes);
    }
  }

  setProtocolVersion(version: ProtocolVersion): void {
    this.#version = version;
  }

  close(): void {
    this.#flush();
    // Closed by the peer already: nothing to end, and no timer to keep the socket alive for.
    if (this.#socket.destroyed) return;
    endWithin(this.#socket);
  }

  requeue(packets: Packet[]): void {
    // Held since before what the backlog still has: they go first.
    const rest = this.#backlog.slice(this.#next);
    this.#backlog = packets;
    for (const packet of rest) packets.push(packet);
    this.#next = 0;
    if (!this.#scheduled) this.#turn();
  }

  #flush(): void {
    const out = this.#pending;
    this.#pending = [];
    const socket = this.#socket;
    // With Nagle's algorithm on (mosquitto's default), a client's own message and the PUBACK of
    // its publish go as two writes, the PUBACK last, as mosquitto writes them: the kernel holds
    // the PUBACK until the client's TCP acknowledges the message, which comes with the client's
    // PUBACK for it, so the PUBACK carries the acknowledgement of that in turn. In one segment, a
    // client without TCP_NODELAY that answers the message and publishes again has its next
    // PUBLISH held by its own Nagle until the broker's delayed ACK, 40 ms later.
    const split = !this.#options.tcpNoDelay && this.#publishPending && this.#ackLast;
    this.#publishPending = false;
    this.#ackLast = false;
    if (out.length === 0 || socket.destroyed) return;
    if (out.length === 1) {
      socket.write(out[0]!);
      return;
    }
    const last = split ? out.length - 1 : out.length;
    socket.cork();
    for (let i = 0; i < last; i++) socket.write(out[i]!);
    socket.uncork();
    if (split) socket.write(out[last]!);
  }

  /** Handles the backlog in order while the budget lasts; true once it is empty. */
  #handleBacklog(budget: number): boolean {
    const started = performance.now();
    let checkAt = packetsOut + FAN_OUT_CHECK;
    // Read from `this` each time: requeue() may have replaced the backlog in between.
    while (this.#next < this.#backlog.length) {
      if (this.#spent >= budget) return false;
      const packet = this.#backlog[this.#next++]!;
      this.#spent += cost(packet);
      if (traces.packetIn.hasSubscribers) traces.packetIn.publish({ remote: this.remoteAddress, packet });
      this.connection.handle(packet);
      if (packetsOut >= checkAt) {
        checkAt = packetsOut + FAN_OUT_CHECK;
        // An unbounded budget (what was read before a close) is not cut short.
        if (budget !== Number.POSITIVE_INFINITY && performance.now() - started > TURN_MS)
          this.#spent = Math.max(this.#spent, budget);
      }
    }
    this.#backlog = [];
    this.#next = 0;
    return true;
  }

  #turn(): void {
    this.#scheduled = false;
    const now = turnNow();
    if (this.#spentIn !== now) {
      this.#spentIn = now;
      this.#spent = 0;
    }
    const socket = this.#socket;
    try {
      // The budget spent (in this turn's earlier chunks too): the rest waits for the next turn.
      if (!this.#handleBacklog(TURN_BUDGET) || this.#spent >= TURN_BUDGET) {
        socket.pause();
        this.#scheduled = true;
        setImmediate(SocketChannel.#turnLater, this);
        return;
      }
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (this.#failed) {
      // Nothing more is read: the connection is closing with the reason.
      socket.pause();
      this.connection.protocolError(this.#failed);
      return;
    }
    // A peer that sends but does not read its acknowledgements is not read from until it does.
    if (socket.writableLength > OUTBOUND_LIMIT) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    } else if (socket.isPaused()) socket.resume();
  }

  #data(chunk: Buffer): void {
    if (this.#failed) return;
    this.#options.stats.bytesReceived += chunk.length;
    try {
      const packets = this.#decoder.push(chunk);
      if (this.#backlog.length === 0) this.#backlog = packets;
      else for (const packet of packets) this.#backlog.push(packet);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        this.#fail(error);
        return;
      }
      this.#failed = error;
    }
    if (!this.#scheduled) this.#turn();
  }

  #closed(): void {
    // What was read before the peer went is handled first, whatever the budget, as it would have
    // been in one turn (a burst ending in DISCONNECT must not leave its will to be published).
    try {
      this.#handleBacklog(Number.POSITIVE_INFINITY);
    } catch (error) {
      this.#fail(error);
    }
    if (traces.connectionClose.hasSubscribers) traces.connectionClose.publish({ remote: this.remoteAddress });
    this.connection.closed();
  }

  #fail(error: unknown): void {
    this.#options.logger.error(
      { remote: this.remoteAddress, error: String(error) },
      'internal error handling a client; closing it',
    );
    this.#socket.destroy();
  }
}
