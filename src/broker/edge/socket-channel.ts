// A byte stream (TCP socket, TLS socket, WebSocket stream) as a PacketChannel: bytes ->
// FrameDecoder -> the connection, packets -> encoder -> stream, with the writes of one tick
// batched under cork. A failure in one client's packet handling closes that client only.

import type { Duplex } from 'node:stream';
import {
  encodePacket,
  encodePublishHeader,
  FrameDecoder,
  type Packet,
  ProtocolError,
  type ProtocolVersion,
} from '../../protocol/index.js';
import type { Logger, PacketChannel } from '../core/ports.js';

/** What the core gives back for a channel: where decoded packets and transport events go. */
export interface ConnectionHandle {
  handle(packet: Packet): void;
  protocolError(error: ProtocolError): void;
  closed(): void;
}

export type Accept = (channel: PacketChannel) => ConnectionHandle;

export interface SocketChannelOptions {
  readonly maxPacketSize: number;
  readonly logger: Logger;
}

// Above this a PUBLISH payload goes to the socket as its own buffer instead of being copied.
const ZERO_COPY_PAYLOAD = 2048;

/** `remoteAddress` is "address:port" of the peer, for logs. */
export function attachSocket(
  socket: Duplex,
  remoteAddress: string,
  accept: Accept,
  options: SocketChannelOptions,
): void {
  const decoder = new FrameDecoder({ maxPacketSize: options.maxPacketSize, requireConnectFirst: true });
  let version: ProtocolVersion = 4;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };

  const channel: PacketChannel = {
    remoteAddress,
    send(packet) {
      if (socket.destroyed || !socket.writable) return;
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      if (packet.type === 'publish' && packet.payload.length > ZERO_COPY_PAYLOAD) {
        socket.write(encodePublishHeader(packet, version));
        socket.write(packet.payload);
      } else {
        socket.write(encodePacket(packet, version));
      }
    },
    setProtocolVersion(v) {
      version = v;
    },
    close() {
      if (!socket.destroyed) socket.end();
      // A peer that never reads must not keep the socket half-open.
      setTimeout(() => socket.destroy(), 2000).unref();
    },
  };

  const connection = accept(channel);
  socket.on('data', (chunk: Buffer) => {
    let packets: Packet[];
    try {
      packets = decoder.push(chunk);
    } catch (error) {
      if (error instanceof ProtocolError) connection.protocolError(error);
      else fail(error);
      return;
    }
    try {
      for (const packet of packets) connection.handle(packet);
    } catch (error) {
      fail(error);
    }
  });
  socket.on('error', (error) =>
    options.logger.debug({ remote: remoteAddress, error: error.message }, 'socket error'),
  );
  socket.on('close', () => connection.closed());

  function fail(error: unknown): void {
    options.logger.error(
      { remote: remoteAddress, error: String(error) },
      'internal error handling a client; closing it',
    );
    socket.destroy();
  }
}
