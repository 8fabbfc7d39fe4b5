// A connection that came through a load balancer, for servers that read their peer from the
// socket (the HTTP server under MQTT over WebSocket): the TCP socket's bytes after the PROXY
// header, as a JavaScript stream (so that nothing reads the socket beneath it and misses what
// was put back), with the client's address as the header gave it.

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export class ProxiedStream extends Duplex {
  readonly #raw: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;

  /** `remote`: "address:port" from the header. */
  constructor(raw: Socket, remote: string) {
    super({ allowHalfOpen: false });
    this.#raw = raw;
    const cut = remote.lastIndexOf(':');
    this.remoteAddress = remote.slice(0, cut);
    this.remotePort = Number(remote.slice(cut + 1));
    raw.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    raw.on('error', (error) => this.destroy(error));
    raw.on('close', () => this.destroy());
  }

  setNoDelay(noDelay?: boolean): this {
    this.#raw.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, delay?: number): this {
    this.#raw.setKeepAlive(enable, delay);
    return this;
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.#raw.setTimeout(ms, callback);
    return this;
  }

  override _read(): void {
    this.#raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#raw.write(chunk, done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#raw.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#raw.destroy();
    done(error);
  }
}
