// The TCP connection under a TLS socket that may have to refuse its client with an alert. Node's
// TLS layer writes straight to the TCP handle, leaving no way to send a record of our own at the
// right moment; under this gate every byte passes through JavaScript, so a refusal can hold back
// what OpenSSL wrote last (its ChangeCipherSpec and Finished on TLS 1.2, its session tickets on
// TLS 1.3) and send the alert in their place. Only listeners that ask for client certificates use
// it: the hop costs a little on every read and write. Being in the path, the gate also paces the
// handshakes' flights, a few per turn of the event loop (FLIGHTS_PER_TURN).

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { endWithin } from './socket-channel.js';
import { TurnPacer } from './turn-pacer.js';

const APPLICATION_DATA_RECORD = 0x17;

/**
 * Handshake flights (a ClientHello; a client's certificate, its signature and Finished) that all
 * gates pass on to TLS per turn of the event loop. Each costs OpenSSL a millisecond or more (key
 * exchange, signatures, parsing the certificates, the session tickets), and the handshakes of a
 * flood or of a fleet reconnecting move in step: without a budget, one poll that finds forty
 * flights ready runs them all while every connected client waits.
 */
const FLIGHTS_PER_TURN = 1;

const flights = new TurnPacer<{ gate: AlertGate; chunk: Buffer }>(FLIGHTS_PER_TURN, ({ gate, chunk }) =>
  gate.takeFlight(chunk),
);

/** Follows TLS record boundaries across chunks and reports each record's content type. */
class RecordScanner {
  readonly #header = Buffer.alloc(5);
  #have = 0;
  #skip = 0;

  scan(chunk: Buffer, record: (type: number) => void): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        i += n;
        this.#skip -= n;
        continue;
      }
      const n = Math.min(5 - this.#have, chunk.length - i);
      chunk.copy(this.#header, this.#have, i, i + n);
      this.#have += n;
      i += n;
      if (this.#have === 5) {
        this.#have = 0;
        this.#skip = this.#header.readUInt16BE(3);
        record(this.#header[0]!);
      }
    }
  }
}

export class AlertGate extends Duplex {
  /** "address:port" of the peer, kept from the TCP connection. */
  readonly remote: string;
  /** The server's TLS 1.3 application traffic secret, from the keylog, until the handshake is judged. */
  trafficSecret?: Buffer;
  readonly #raw: Socket;
  #watching = true;
  readonly #inbound = new RecordScanner();
  readonly #outbound = new RecordScanner();
  /** Whether the client has sent an encrypted (TLS 1.3) record: what the server sends after that is under its application key. */
  #clientEncrypted = false;
  /** Records the server sent under its TLS 1.3 application traffic key: the next record's sequence number. */
  #sentEncrypted = 0;
  #muted = false;
  /** Chunks from the client waiting for their turn in `flights`. */
  #queued = 0;
  /** The client's FIN came while chunks were queued: the stream ends after the last of them. */
  #endPending = false;

  /** `remote`: the client's address when a PROXY header said it, else the socket's. */
  constructor(raw: Socket, remote = `${raw.remoteAddress}:${raw.remotePort}`) {
    // Half-open, so that TLS's close_notify after the peer's FIN is dropped in _write rather than
    // refused by the stream with an error (and its stack trace) on every connection's close.
    super({ allowHalfOpen: true });
    this.#raw = raw;
    this.remote = remote;
    raw.on('data', (chunk: Buffer) => {
      // Queued behind its own earlier flights after the handshake too, so that nothing overtakes.
      if (this.#watching || this.#queued > 0) {
        raw.pause();
        this.#queued++;
        flights.offer({ gate: this, chunk });
      } else if (!this.push(chunk)) raw.pause();
    });
    // The end comes after the flights still waiting, not before them.
    raw.on('end', () => {
      if (this.#queued > 0) this.#endPending = true;
      else this.push(null);
    });
    raw.on('error', (error) => this.destroy(error));
    raw.on('close', () => this.destroy());
  }

  /** Passes on a flight whose turn came (the pacer's step); false when the connection is gone. */
  takeFlight(chunk: Buffer): boolean {
    this.#queued--;
    if (this.destroyed) return false;
    if (this.#watching && !this.#clientEncrypted)
      this.#inbound.scan(chunk, (type) => {
        if (type === APPLICATION_DATA_RECORD) this.#clientEncrypted = true;
      });
    const more = this.push(chunk);
    if (this.#queued === 0) {
      if (this.#endPending) this.push(null);
      else if (more) this.#raw.resume();
    }
    return true;
  }

  /** The sequence number the next record under the server's TLS 1.3 application key gets. */
  get sentEncrypted(): number {
    return this.#sentEncrypted;
  }

  /** The handshake was judged and the client admitted: stop watching, forget the secret. */
  settle(): void {
    this.#watching = false;
    this.trafficSecret = undefined;
  }

  /**
   * Drops whatever TLS writes from now on, sends `record` (the alert) and closes. The TCP
   * connection outlives the TLS socket's destruction until the alert is out (bounded for a peer
   * that does not read, as every ended connection is).
   */
  refuse(record: Buffer | undefined): void {
    this.settle();
    this.#muted = true;
    endWithin(this.#raw, record);
  }

  override _read(): void {
    if (this.#queued === 0) this.#raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this._writev([{ chunk }], done);
  }

  /**
   * A TLS flight (ServerHello to Finished, a ticket pair) comes as several records in one corked
   * write; passed on corked, it leaves in one writev, not a syscall per record.
   */
  override _writev(chunks: { chunk: Buffer }[], done: (error?: Error | null) => void): void {
    const raw = this.#raw;
    if (this.#muted || raw.readableEnded || !raw.writable) {
      done();
      return;
    }
    if (chunks.length > 1) raw.cork();
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!.chunk;
      if (this.#watching)
        this.#outbound.scan(chunk, (type) => {
          if (type === APPLICATION_DATA_RECORD && this.#clientEncrypted) this.#sentEncrypted++;
        });
      raw.write(chunk, i === chunks.length - 1 ? done : undefined);
    }
    if (chunks.length > 1) raw.uncork();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#raw.end();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (!this.#muted) this.#raw.destroy();
    done(error);
  }
}

/**
 * The gate under a TLS socket, if it has one. Node keeps the stream a TLS socket was made on
 * (here the gate) as `_handle._parentWrap.stream`; no public API names it.
 */
export function gateOf(socket: TLSSocket): AlertGate | undefined {
  const stream = (socket as unknown as { _handle?: { _parentWrap?: { stream?: unknown } } })._handle
    ?._parentWrap?.stream;
  return stream instanceof AlertGate ? stream : undefined;
}
