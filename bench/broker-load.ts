// The load generator's MQTT 3.1.1 clients: raw sockets and our codec, so the generator costs as
// little as it can and treats every broker the same. Used by broker.bench.ts and cluster.bench.ts.

import { connect, type Socket } from 'node:net';
import { encodePacket, FrameDecoder, type Packet, type QoS } from '../src/protocol/index.js';

export class LoadClient {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder({ protocolVersion: 4 });
  onPacket: (packet: Packet) => void = () => undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const packet of this.#decoder.push(chunk)) this.onPacket(packet);
    });
    socket.on('error', () => undefined);
  }

  /** Connects and waits for CONNACK 0 (rejects after timeoutMs); `clean` false resumes a persistent session. */
  static async open(
    port: number,
    clientId: string,
    timeoutMs = 10_000,
    clean = true,
    will?: { topic: string; payload: Buffer },
  ): Promise<LoadClient> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const client = new LoadClient(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${clientId}: no CONNACK in ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('error', reject);
      client.onPacket = (p) => {
        clearTimeout(timer);
        if (p.type === 'connack' && p.reasonCode === 0) resolve();
        else reject(new Error(`${clientId}: ${p.type} ${p.type === 'connack' ? p.reasonCode : ''}`));
      };
      socket.write(
        encodePacket(
          {
            type: 'connect',
            protocolName: 'MQTT',
            protocolVersion: 4,
            clean,
            keepAlive: 0,
            clientId,
            ...(will && { will: { ...will, qos: 1, retain: false } }),
          },
          4,
        ),
      );
    });
    client.onPacket = () => undefined;
    return client;
  }

  async subscribe(topicFilter: string, qos: QoS): Promise<void> {
    await new Promise<void>((resolve) => {
      this.onPacket = (p) => {
        if (p.type === 'suback') resolve();
      };
      this.socket.write(
        encodePacket(
          {
            type: 'subscribe',
            packetId: 1,
            subscriptions: [
              { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 },
            ],
          },
          4,
        ),
      );
    });
    this.onPacket = () => undefined;
  }

  /**
   * Writes, and waits for the socket to drain when its buffer is full: the broker sets the pace.
   * Otherwise yields to the event loop, so a loop of writes never starves reads and timers.
   */
  async write(bytes: Buffer): Promise<void> {
    if (this.socket.write(bytes)) await new Promise((resolve) => setImmediate(resolve));
    else
      await new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off('drain', done).off('close', done);
          resolve();
        };
        this.socket.once('drain', done).once('close', done);
      });
  }

  close(): void {
    this.socket.destroy();
  }
}

export function publishPacket(topic: string, payload: Buffer, qos: QoS, packetId?: number): Buffer {
  return encodePacket({ type: 'publish', topic, payload, qos, retain: false, dup: false, packetId }, 4);
}

export const pubackPacket = (packetId: number): Buffer => encodePacket({ type: 'puback', packetId }, 4);
