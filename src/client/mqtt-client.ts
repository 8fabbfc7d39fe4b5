// connect(url): TCP -> TLS handshake -> certificate verified -> secure -> CONNECT -> CONNACK, one
// stage at a time with timestamps; then publish (QoS 0/1), subscribe and received messages as an
// AsyncIterable. Verification happens before CONNECT: a refused broker never sees an MQTT byte.

import { once } from 'node:events';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  type ConnackPacket,
  encodePacket,
  FrameDecoder,
  type Packet,
  ProtocolError,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  reasonCodeName,
} from '../protocol/index.js';
import { ClientError } from './client-error.js';
import type { ConnectionStage, StageEvent } from './connection-stage.js';
import { verifyPeer } from './verify-peer.js';

export interface ConnectOptions {
  readonly clientId?: string;
  readonly protocolVersion?: 4 | 5;
  /** Seconds; 0 turns keep alive off. */
  readonly keepAlive?: number;
  readonly clean?: boolean;
  readonly username?: string;
  readonly password?: string | Buffer;
  /** Trusted CA certificates (PEM) for mqtts://; Node's bundled roots when absent. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate chain and key (PEM) for brokers that ask for one. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Name to send as SNI and to check in the certificate; the URL's host by default. */
  readonly servername?: string;
  readonly connectTimeoutMs?: number;
  readonly onStage?: (event: StageEvent) => void;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly packet: PublishPacket;
}

export async function connect(url: string, options: ConnectOptions = {}): Promise<MqttClient> {
  const target = new URL(url);
  const secure = target.protocol === 'mqtts:';
  if (!secure && target.protocol !== 'mqtt:') {
    throw new ClientError(
      'ERR_TCP_CONNECT',
      'tcp-connecting',
      `unsupported URL scheme ${target.protocol} (use mqtt: or mqtts:)`,
    );
  }
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || (secure ? 8883 : 1883));
  const stages = new StageLog(options.onStage);
  const timeoutMs = options.connectTimeoutMs ?? 10_000;

  stages.enter('tcp-connecting', `${host}:${port}`);
  const tcp = tcpConnect({ host, port });
  await step(
    tcp,
    'connect',
    timeoutMs,
    (error) =>
      new ClientError(
        'ERR_TCP_CONNECT',
        'tcp-connecting',
        `TCP connect to ${host}:${port} failed: ${error.message}`,
      ),
  );
  let socket: Socket = tcp;

  if (secure) {
    stages.enter('tls-handshaking');
    const servername = options.servername ?? (isIP(host) ? undefined : host);
    const tls: TLSSocket = tlsConnect({
      socket: tcp,
      servername,
      ca: options.ca as string | Buffer | Array<string | Buffer> | undefined,
      cert: options.cert,
      key: options.key,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['mqtt'],
      // Verified below, before CONNECT, so the failure can be told precisely with the peer's certificate.
      rejectUnauthorized: false,
    });
    await step(
      tls,
      'secureConnect',
      timeoutMs,
      (error) =>
        new ClientError('ERR_TLS_HANDSHAKE', 'tls-handshaking', `TLS handshake failed: ${error.message}`),
    );
    const refusal = verifyPeer(tls, options.servername ?? host);
    if (refusal) {
      tls.destroy();
      throw refusal;
    }
    stages.enter('certificate-verified', `CN=${String(tls.getPeerCertificate().subject?.CN ?? '')}`);
    stages.enter('secure', `${tls.getProtocol()} ${tls.getCipher().name}`);
    socket = tls;
  }

  const version: ProtocolVersion = options.protocolVersion ?? 5;
  const client = new MqttClient(socket, version, stages);
  stages.enter('connect-sent');
  client.send({
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: version,
    clean: options.clean ?? true,
    keepAlive: options.keepAlive ?? 60,
    clientId: options.clientId ?? '',
    username: options.username,
    password: typeof options.password === 'string' ? Buffer.from(options.password) : options.password,
  });
  const connack = await client.awaitConnack(timeoutMs);
  if (connack.reasonCode !== 0) {
    socket.destroy();
    const name = version === 5 ? reasonCodeName(connack.reasonCode) : V3_CONNACK[connack.reasonCode];
    throw new ClientError(
      'ERR_CONNACK_REFUSED',
      'connect-sent',
      `CONNACK 0x${hex(connack.reasonCode)} ${name}`,
      connack.reasonCode,
    );
  }
  stages.enter('connected', connack.properties?.assignedClientIdentifier);
  client.startKeepAlive(options.keepAlive ?? 60);
  return client;
}

const V3_CONNACK = [
  'accepted',
  'unacceptable protocol version',
  'identifier rejected',
  'server unavailable',
  'bad user name or password',
  'not authorized',
];
const hex = (n: number) => n.toString(16).padStart(2, '0');

/** Waits for `event` on an emitter, failing on 'error', close, or the time limit. */
async function step(
  emitter: Socket,
  event: string,
  timeoutMs: number,
  toError: (error: Error) => ClientError,
): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    await once(emitter, event, { signal: timeout });
  } catch (error) {
    emitter.destroy();
    throw toError(timeout.aborted ? new Error(`no answer within ${timeoutMs} ms`) : (error as Error));
  }
}

class StageLog {
  readonly events: StageEvent[] = [];
  readonly #started = Date.now();
  readonly #listener: ((event: StageEvent) => void) | undefined;

  constructor(listener?: (event: StageEvent) => void) {
    this.#listener = listener;
  }

  get current(): ConnectionStage {
    return this.events[this.events.length - 1]?.stage ?? 'tcp-connecting';
  }

  enter(stage: ConnectionStage, detail?: string): void {
    const at = Date.now();
    const event: StageEvent =
      detail === undefined
        ? { stage, at, elapsedMs: at - this.#started }
        : { stage, at, elapsedMs: at - this.#started, detail };
    this.events.push(event);
    this.#listener?.(event);
  }
}

export class MqttClient {
  readonly #socket: Socket;
  readonly #version: ProtocolVersion;
  readonly #stages: StageLog;
  readonly #decoder: FrameDecoder;
  /** Replies awaited, by "connack" or "<type>:<packet id>". */
  readonly #waiting = new Map<
    string,
    { resolve: (packet: Packet) => void; reject: (error: ClientError) => void }
  >();
  readonly #inbox: ReceivedMessage[] = [];
  #wake: (() => void) | undefined;
  #nextPacketId = 1;
  #closed: ClientError | undefined;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(socket: Socket, version: ProtocolVersion, stages: StageLog) {
    this.#socket = socket;
    this.#version = version;
    this.#stages = stages;
    this.#decoder = new FrameDecoder({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('close', () =>
      this.#shut(new ClientError('ERR_CONNECTION_CLOSED', this.#stages.current, 'connection closed')),
    );
    socket.on('error', () => undefined);
  }

  get stages(): readonly StageEvent[] {
    return this.#stages.events;
  }

  get state(): ConnectionStage {
    return this.#stages.current;
  }

  send(packet: Packet): void {
    this.#socket.write(encodePacket(packet, this.#version));
  }

  async publish(
    topic: string,
    payload: string | Buffer,
    options: { qos?: 0 | 1; retain?: boolean } = {},
  ): Promise<void> {
    const qos = options.qos ?? 0;
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const packetId = qos > 0 ? this.#allocateId() : undefined;
    const acked = packetId === undefined ? undefined : this.#expect(`puback:${packetId}`);
    this.send({
      type: 'publish',
      topic,
      payload: body,
      qos,
      retain: options.retain ?? false,
      dup: false,
      packetId,
    });
    if (acked) {
      const ack = (await acked) as Packet & { type: 'puback' };
      if ((ack.reasonCode ?? 0) >= 0x80)
        throw new ClientError(
          'ERR_PROTOCOL',
          'connected',
          `PUBACK 0x${hex(ack.reasonCode!)} ${reasonCodeName(ack.reasonCode!)}`,
          ack.reasonCode,
        );
    }
  }

  /** Subscribes; resolves with the granted QoS, or throws with the refusal code. */
  async subscribe(topicFilter: string, options: { qos?: QoS } = {}): Promise<QoS> {
    const packetId = this.#allocateId();
    const acked = this.#expect(`suback:${packetId}`);
    this.send({
      type: 'subscribe',
      packetId,
      subscriptions: [
        { topicFilter, qos: options.qos ?? 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    const suback = (await acked) as Packet & { type: 'suback' };
    const code = suback.reasonCodes[0] ?? 0x80;
    if (code >= 0x80)
      throw new ClientError('ERR_PROTOCOL', 'connected', `SUBACK 0x${hex(code)} for ${topicFilter}`, code);
    return code as QoS;
  }

  /** Received messages, in order, until the connection ends. */
  async *messages(): AsyncIterableIterator<ReceivedMessage> {
    while (true) {
      const next = this.#inbox.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Sends DISCONNECT and closes. */
  async end(): Promise<void> {
    if (this.#closed) return;
    this.send({ type: 'disconnect' });
    this.#socket.end();
    if (!this.#socket.destroyed) await once(this.#socket, 'close').catch(() => undefined);
  }

  /** @internal */
  awaitConnack(timeoutMs: number): Promise<ConnackPacket> {
    const timer = setTimeout(
      () =>
        this.#shut(
          new ClientError('ERR_CONNACK_TIMEOUT', 'connect-sent', `no CONNACK within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    return this.#expect('connack').finally(() => clearTimeout(timer)) as Promise<ConnackPacket>;
  }

  /** @internal */
  startKeepAlive(seconds: number): void {
    if (seconds === 0) return;
    this.#keepAlive = setInterval(() => this.send({ type: 'pingreq' }), seconds * 1000);
    this.#keepAlive.unref();
  }

  #allocateId(): number {
    const id = this.#nextPacketId;
    this.#nextPacketId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  #expect(key: string): Promise<Packet> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#waiting.set(key, { resolve, reject });
    });
  }

  #receive(chunk: Buffer): void {
    let packets: Packet[];
    try {
      packets = this.#decoder.push(chunk);
    } catch (error) {
      const message = error instanceof ProtocolError ? `${error.code}: ${error.message}` : String(error);
      this.#shut(new ClientError('ERR_PROTOCOL', this.#stages.current, `broker sent bad data: ${message}`));
      this.#socket.destroy();
      return;
    }
    for (const packet of packets) this.#dispatch(packet);
  }

  #dispatch(packet: Packet): void {
    switch (packet.type) {
      case 'connack':
        this.#settle('connack', packet);
        return;
      case 'puback':
      case 'suback':
        this.#settle(`${packet.type}:${packet.packetId}`, packet);
        return;
      case 'publish':
        if (packet.qos === 1) this.send({ type: 'puback', packetId: packet.packetId! });
        if (packet.qos === 2) this.send({ type: 'pubrec', packetId: packet.packetId! });
        this.#inbox.push({
          topic: packet.topic,
          payload: packet.payload,
          qos: packet.qos,
          retain: packet.retain,
          packet,
        });
        this.#wake?.();
        return;
      case 'pubrel':
        this.send({ type: 'pubcomp', packetId: packet.packetId });
        return;
      case 'disconnect': {
        const code = packet.reasonCode ?? 0;
        this.#shut(
          new ClientError(
            'ERR_CONNECTION_CLOSED',
            this.#stages.current,
            `broker sent DISCONNECT 0x${hex(code)} ${reasonCodeName(code)}`,
            code,
          ),
        );
        return;
      }
      default:
        return;
    }
  }

  #settle(key: string, packet: Packet): void {
    const waiter = this.#waiting.get(key);
    this.#waiting.delete(key);
    waiter?.resolve(packet);
  }

  #shut(error: ClientError): void {
    if (this.#closed) return;
    this.#closed = error;
    clearInterval(this.#keepAlive);
    if (this.#stages.current === 'connected') this.#stages.enter('disconnected', error.message);
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
    this.#wake?.();
  }
}
