// connect(url): the MQTT client API over the connector and the pure client session. The first
// connection either succeeds or throws a typed error naming its stage; after that the client
// reconnects on its own (jittered exponential backoff), sends again what was in flight,
// resubscribes, and queues publishes while offline, bounded. end() drains what is in flight.

import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  type ConnackPacket,
  encodePacket,
  FrameDecoder,
  type Packet,
  ProtocolError,
  type ProtocolVersion,
  type PublishPacket,
  reasonCodeName,
  type Subscription,
} from '../protocol/index.js';
import { ClientError, connackReasonName } from './client-error.js';
import type { ConnectOptions, PublishOptions, ReceivedMessage, SubscribeOptions } from './client-options.js';
import { ClientSession } from './client-session.js';
import { connectPacket } from './connect-packet.js';
import type { ConnectionStage, StageEvent } from './connection-stage.js';
import {
  openTransport,
  parseTarget,
  type Target,
  type TlsDetails,
  type TlsSessionCache,
} from './connector.js';
import type { ClientAuthExchange } from './scram-client.js';
import { StageLog } from './stage-log.js';
import { trustWarnings } from './trust.js';

const INBOX_LIMIT = 10_000;
const hex = (n: number) => n.toString(16).padStart(2, '0');

/** Connects; rejects with a ClientError naming the stage and the reason. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<MqttClient> {
  const client = new MqttClient(parseTarget(url), options);
  await client.start();
  return client;
}

type Waiter = { resolve: (packet: Packet) => void; reject: (error: ClientError) => void };

export class MqttClient extends EventEmitter {
  readonly version: ProtocolVersion;
  readonly #target: Target;
  readonly #options: ConnectOptions;
  readonly #stages: StageLog;
  readonly #session: ClientSession;
  readonly #tlsSession: TlsSessionCache = {};
  /** The host:port the TLS session was made with: another target starts afresh. */
  #tlsSessionTarget = '';
  #socket: Duplex | undefined;
  /** The enhanced authentication exchange under way (CONNECT or re-authentication). */
  #authExchange: ClientAuthExchange | undefined;
  #tls: TlsDetails | undefined;
  #connack: ConnackPacket | undefined;
  #clientId: string;
  /** Replies awaited, by "connack", "pingresp" or "<type>:<packet id>". */
  readonly #waiting = new Map<string, Waiter>();
  readonly #completions = new Map<number, { resolve: () => void; reject: (error: ClientError) => void }>();
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #inbox: ReceivedMessage[] = [];
  /** QoS 2 packet ids delivered with manualAcks whose ack has not come yet. */
  readonly #awaitingAck = new Set<number>();
  readonly #readers = new Set<() => void>();
  readonly #requests = new Map<string, (message: ReceivedMessage) => void>();
  /** The response topic prefix, fixed at creation; subscribed once, by the first request(). */
  readonly #responseBase = `warden/responses/${randomBytes(8).toString('hex')}`;
  #responseSubscribed: Promise<unknown> | undefined;
  #onlineWaiters: Array<{ resolve: () => void; reject: (error: ClientError) => void }> = [];
  #keepAlive: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #attempts = 0;
  #ended: ClientError | undefined;
  #lastError: ClientError | undefined;

  /** @internal use connect() */
  constructor(target: Target, options: ConnectOptions) {
    super();
    this.#target = target;
    this.#options = options;
    this.version = options.protocolVersion ?? 5;
    this.#clientId = options.clientId ?? '';
    this.#stages = new StageLog((event) => {
      options.onStage?.(event);
      this.emit('stage', event);
    });
    this.#session = new ClientSession({
      version: this.version,
      maxInflight: options.maxInflight ?? 100,
      queueLimit: options.offlineQueueLimit ?? 1000,
    });
    const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'WardenTlsWarning'));
    if (target.secure) for (const warning of trustWarnings(options)) warn(warning);
  }

  /** @internal the first connection: throws instead of retrying. */
  async start(): Promise<void> {
    await this.#attempt();
  }

  get stages(): readonly StageEvent[] {
    return this.#stages.events;
  }

  get state(): ConnectionStage {
    return this.#stages.current;
  }

  get connected(): boolean {
    return this.#session.online;
  }

  /** The client id in use (the broker's assigned one when it gave one). */
  get clientId(): string {
    return this.#clientId;
  }

  /** The last CONNACK: session present, the broker's limits and properties. */
  get connack(): ConnackPacket | undefined {
    return this.#connack;
  }

  /** TLS version, cipher, ALPN, resumption and the broker's chain, for mqtts. */
  get tls(): TlsDetails | undefined {
    return this.#tls;
  }

  /** Why the connection was last lost or the last reconnect failed. */
  get lastError(): ClientError | undefined {
    return this.#lastError;
  }

  /**
   * QoS 0 resolves once written (or queued); QoS 1/2 once the broker acknowledged, even across
   * reconnects. Rejects with the broker's reason code, or when the offline queue is full.
   */
  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    if (this.#ended) return Promise.reject(this.#ended);
    const message = {
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: options.qos ?? 0,
      retain: options.retain ?? false,
      properties: options.properties,
    };
    let step: ReturnType<ClientSession['publish']>;
    try {
      step = this.#session.publish(message);
    } catch (error) {
      return Promise.reject(
        new ClientError(
          'ERR_OFFLINE_QUEUE_FULL',
          this.state,
          `publish to ${topic}: ${(error as Error).message}`,
        ),
      );
    }
    this.#sendAll(step.send);
    if (step.packetId === undefined) return Promise.resolve();
    const packetId = step.packetId;
    return new Promise((resolve, reject) => this.#completions.set(packetId, { resolve, reject }));
  }

  /** Subscribes (waiting for a connection if offline); resolves with the granted QoS per filter. */
  async subscribe(filters: string | readonly string[], options: SubscribeOptions = {}): Promise<number[]> {
    const subscriptions: Subscription[] = (typeof filters === 'string' ? [filters] : filters).map(
      (topicFilter) => ({
        topicFilter,
        qos: options.qos ?? 0,
        noLocal: options.noLocal ?? false,
        retainAsPublished: options.retainAsPublished ?? false,
        retainHandling: options.retainHandling ?? 0,
      }),
    );
    await this.#whenOnline();
    const packetId = this.#session.allocateId();
    const acked = this.#expect(`suback:${packetId}`);
    this.#send({ type: 'subscribe', packetId, subscriptions });
    const suback = (await acked.finally(() => this.#session.releaseId(packetId))) as Packet & {
      type: 'suback';
    };
    const refused = suback.reasonCodes.findIndex((code) => code >= 0x80);
    for (const [i, s] of subscriptions.entries())
      if ((suback.reasonCodes[i] ?? 0x80) < 0x80) this.#subscriptions.set(s.topicFilter, s);
    if (refused !== -1) {
      const code = suback.reasonCodes[refused]!;
      throw new ClientError(
        'ERR_PROTOCOL',
        'connected',
        `SUBACK 0x${hex(code)} ${this.version === 5 ? reasonCodeName(code) : 'failure'} for ${subscriptions[refused]!.topicFilter}`,
        code,
      );
    }
    return [...suback.reasonCodes];
  }

  async unsubscribe(filters: string | readonly string[]): Promise<void> {
    const topicFilters = typeof filters === 'string' ? [filters] : [...filters];
    for (const filter of topicFilters) this.#subscriptions.delete(filter);
    await this.#whenOnline();
    const packetId = this.#session.allocateId();
    const acked = this.#expect(`unsuback:${packetId}`);
    this.#send({ type: 'unsubscribe', packetId, topicFilters });
    await acked.finally(() => this.#session.releaseId(packetId));
  }

  /**
   * v5 request/response: publishes with a Response Topic and Correlation Data, resolves with the
   * first message that answers it.
   */
  async request(
    topic: string,
    payload: string | Buffer,
    options: PublishOptions & { timeoutMs?: number } = {},
  ): Promise<ReceivedMessage> {
    if (this.version !== 5)
      throw new ClientError('ERR_PROTOCOL', this.state, 'request/response needs MQTT 5');
    // Shared, so requests made together before the first SUBACK wait on one subscription.
    this.#responseSubscribed ??= this.subscribe(`${this.#responseBase}/#`, { qos: 1 }).catch((error) => {
      this.#responseSubscribed = undefined;
      throw error;
    });
    await this.#responseSubscribed;
    const correlation = randomBytes(12);
    const key = correlation.toString('hex');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const answered = new Promise<ReceivedMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(key);
        reject(new ClientError('ERR_TIMEOUT', this.state, `no response on ${topic} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#requests.set(key, (message) => {
        clearTimeout(timer);
        this.#requests.delete(key);
        resolve(message);
      });
    });
    await this.publish(topic, payload, {
      ...options,
      properties: {
        ...options.properties,
        responseTopic: `${this.#responseBase}/${key}`,
        correlationData: correlation,
      },
    });
    return answered;
  }

  /** Received messages, in order, until the client ends. Several readers share one stream. */
  async *messages(): AsyncIterableIterator<ReceivedMessage> {
    while (true) {
      const next = this.#inbox.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#readers.add(resolve));
    }
  }

  /**
   * Waits (up to timeoutMs) for the messages in flight and queued to be acknowledged, then
   * DISCONNECT and close. What is still unacknowledged then is rejected with ERR_CLIENT_ENDED.
   */
  async end(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#ended) return;
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    while (
      this.#session.pending > 0 &&
      Date.now() < deadline &&
      (this.#session.online || this.#reconnectTimer)
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    this.#finish(new ClientError('ERR_CLIENT_ENDED', this.state, 'client ended'));
    const socket = this.#socket;
    if (socket && !socket.destroyed) {
      if (this.#session.online) this.#send({ type: 'disconnect' });
      socket.end();
      await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 2000).unref())]).catch(
        () => undefined,
      );
      socket.destroy();
    }
  }

  /**
   * Drops the connection without DISCONNECT and reconnects as after a loss (a bridge going back
   * to its main address). What is in flight is sent again on the new connection.
   */
  dropConnection(): void {
    this.#socket?.destroy();
  }

  /** The client is done (ended, or lost without reconnect): whatever still waits gets `error`. */
  #finish(error: ClientError): void {
    this.#ended = error;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    for (const id of this.#session.abandon()) this.#completions.get(id)?.reject(error);
    this.#completions.clear();
    for (const waiter of this.#onlineWaiters) waiter.reject(error);
    this.#onlineWaiters = [];
    this.#wakeReaders();
  }

  // --- connection lifecycle ---

  async #attempt(target = this.#target): Promise<void> {
    this.#stages.restart();
    const dialed = `${target.host}:${target.port}`;
    if (dialed !== this.#tlsSessionTarget) {
      for (const key of Object.keys(this.#tlsSession)) delete this.#tlsSession[key as keyof TlsSessionCache];
      this.#tlsSessionTarget = dialed;
    }
    const { socket, tls } = this.#options.stream
      ? { socket: await this.#options.stream(), tls: undefined }
      : await openTransport(target, this.#options, this.#stages, this.#tlsSession);
    this.#socket = socket;
    this.#tls = tls;
    const decoder = new FrameDecoder({ protocolVersion: this.version });
    socket.on('data', (chunk: Buffer) => this.#receive(decoder, chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => this.#lost(socket));

    const options = this.#options;
    this.#stages.enter('connect-sent');
    const method = this.version === 5 ? options.authentication : undefined;
    const exchange = method?.begin();
    this.#authExchange = exchange;
    this.#send(connectPacket(options, this.version, this.#clientId, method, exchange));
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      this.#reject(
        'connack',
        new ClientError('ERR_CONNACK_TIMEOUT', 'connect-sent', `no CONNACK within ${timeoutMs} ms`),
      );
      socket.destroy();
    }, timeoutMs);
    const connack = (await this.#expect('connack').finally(() => clearTimeout(timer))) as ConnackPacket;
    this.#authExchange = undefined;
    if (connack.reasonCode !== 0) {
      socket.destroy();
      const name = connackReasonName(this.version, connack.reasonCode);
      throw new ClientError(
        'ERR_CONNACK_REFUSED',
        'connect-sent',
        `CONNACK 0x${hex(connack.reasonCode)} ${name}`,
        connack.reasonCode,
      );
    }
    if (exchange) {
      try {
        exchange.verify(connack.properties?.authenticationData);
      } catch (error) {
        socket.destroy();
        throw new ClientError('ERR_AUTH_FAILED', 'connect-sent', (error as Error).message);
      }
    }
    this.#connack = connack;
    this.#clientId = connack.properties?.assignedClientIdentifier ?? this.#clientId;
    this.#attempts = 1;
    const resend = this.#session.connected(connack.sessionPresent, connack.properties);
    // Subscriptions are sent again when the broker lost the session.
    if (!connack.sessionPresent && this.#subscriptions.size > 0) {
      const packetId = this.#session.allocateId();
      this.#expect(`suback:${packetId}`)
        .catch(() => undefined)
        .finally(() => this.#session.releaseId(packetId));
      this.#send({ type: 'subscribe', packetId, subscriptions: [...this.#subscriptions.values()] });
    }
    this.#sendAll(resend);
    this.#stages.enter(
      'connected',
      `session ${connack.sessionPresent ? 'present' : 'new'}${this.#clientId ? `, client id ${this.#clientId}` : ''}`,
    );
    this.#startKeepAlive(connack.properties?.serverKeepAlive ?? options.keepAlive ?? 60);
    for (const waiter of this.#onlineWaiters) waiter.resolve();
    this.#onlineWaiters = [];
  }

  #lost(socket: Duplex): void {
    if (socket !== this.#socket) return;
    const wasOnline = this.#session.online;
    this.#session.disconnected();
    clearInterval(this.#keepAlive);
    const error =
      this.#lastError ?? new ClientError('ERR_CONNECTION_CLOSED', this.state, 'connection closed');
    // Every reply awaited on this connection (CONNACK, SUBACK, PINGRESP...) will not come.
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
    if (wasOnline) this.#stages.enter('disconnected', error.message);
    if (this.#ended) this.#wakeReaders();
    else if (this.#options.reconnect === false) this.#finish(error);
    else if (this.#attempts > 0 && wasOnline) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const settings = this.#options.reconnect || {};
    const initial = settings.initialDelayMs ?? 500;
    const max = settings.maxDelayMs ?? 30_000;
    const delay = Math.min(max, initial * 2 ** Math.min(this.#attempts - 1, 20)) * (0.5 + Math.random() / 2);
    this.#attempts++;
    this.#stages.enter(
      'reconnecting',
      `in ${Math.round(delay)} ms${this.#lastError ? ` (${this.#lastError.message})` : ''}`,
    );
    this.#reconnectTimer = setTimeout(async () => {
      this.#reconnectTimer = undefined;
      if (this.#ended) return;
      try {
        this.#lastError = undefined;
        const { nextUrl } = this.#options;
        await this.#attempt(nextUrl ? parseTarget(nextUrl()) : this.#target);
        this.#attempts = 1;
      } catch (error) {
        this.#lastError = error as ClientError;
        this.emit('reconnect-failed', error);
        if (!this.#ended && !this.#reconnectTimer) this.#scheduleReconnect();
      }
    }, delay);
  }

  #startKeepAlive(seconds: number): void {
    clearInterval(this.#keepAlive);
    if (seconds === 0) return;
    this.#keepAlive = setInterval(() => {
      if (this.#waiting.has('pingresp')) {
        // No answer to the last ping within a keep alive: the connection is dead.
        this.#lastError = new ClientError('ERR_TIMEOUT', 'connected', `no PINGRESP within ${seconds} s`);
        this.#socket?.destroy();
        return;
      }
      this.#expect('pingresp').catch(() => undefined);
      this.#send({ type: 'pingreq' });
    }, seconds * 1000);
    this.#keepAlive.unref();
  }

  #whenOnline(): Promise<void> {
    if (this.#ended) return Promise.reject(this.#ended);
    if (this.#session.online) return Promise.resolve();
    return new Promise((resolve, reject) => this.#onlineWaiters.push({ resolve, reject }));
  }

  // --- packets ---

  #send(packet: Packet): void {
    const socket = this.#socket;
    if (socket && !socket.destroyed) socket.write(encodePacket(packet, this.version));
  }

  /**
   * QoS 2 with manualAcks: delivered once; the PUBREC waits for the application's ack. A copy
   * sent again before that ack (after a reconnection) is not acknowledged either: the ack sends
   * the PUBREC on whatever connection is current then. Once acknowledged, a copy sent again gets
   * its PUBREC at once.
   */
  #receivedQos2(packet: PublishPacket, first: boolean, send: Packet[]): void {
    const id = packet.packetId!;
    if (!first) {
      if (!this.#awaitingAck.has(id)) this.#sendAll(send);
      return;
    }
    this.#awaitingAck.add(id);
    this.#deliver(packet, () => {
      if (this.#awaitingAck.delete(id)) this.#sendAll(send);
    });
  }

  #sendAll(packets: readonly Packet[]): void {
    for (const packet of packets) this.#send(packet);
  }

  #expect(key: string): Promise<Packet> {
    return new Promise((resolve, reject) => this.#waiting.set(key, { resolve, reject }));
  }

  #settle(key: string, packet: Packet): void {
    const waiter = this.#waiting.get(key);
    this.#waiting.delete(key);
    waiter?.resolve(packet);
  }

  #reject(key: string, error: ClientError): void {
    const waiter = this.#waiting.get(key);
    this.#waiting.delete(key);
    waiter?.reject(error);
  }

  #receive(decoder: FrameDecoder, chunk: Buffer): void {
    let packets: Packet[];
    try {
      packets = decoder.push(chunk);
    } catch (error) {
      const message = error instanceof ProtocolError ? `${error.code}: ${error.message}` : String(error);
      this.#lastError = new ClientError('ERR_PROTOCOL', this.state, `broker sent bad data: ${message}`);
      this.#socket?.destroy();
      return;
    }
    for (const packet of packets) this.#dispatch(packet);
  }

  #dispatch(packet: Packet): void {
    switch (packet.type) {
      case 'connack':
        this.#settle('connack', packet);
        return;
      case 'pingresp':
        this.#settle('pingresp', packet);
        return;
      case 'suback':
      case 'unsuback':
        this.#settle(`${packet.type}:${packet.packetId}`, packet);
        return;
      case 'puback':
      case 'pubrec':
      case 'pubcomp': {
        const step = this.#session.acknowledged(packet);
        this.#sendAll(step.send);
        const done = step.completed;
        if (done === undefined) return;
        const completion = this.#completions.get(done.packetId);
        this.#completions.delete(done.packetId);
        if (done.reasonCode < 0x80) completion?.resolve();
        else
          completion?.reject(
            new ClientError(
              'ERR_PROTOCOL',
              'connected',
              `${done.ack.toUpperCase()} 0x${hex(done.reasonCode)} ${reasonCodeName(done.reasonCode)}`,
              done.reasonCode,
            ),
          );
        return;
      }
      case 'pubrel':
        this.#sendAll(this.#session.released(packet.packetId));
        return;
      case 'publish': {
        const { deliver, send } = this.#session.received(packet);
        const manual = this.#options.manualAcks && send.length > 0;
        if (manual && packet.qos === 2) {
          this.#receivedQos2(packet, deliver, send);
          return;
        }
        if (!deliver || !manual) {
          this.#sendAll(send);
          if (deliver) this.#deliver(packet);
          return;
        }
        // QoS 1: the PUBACK goes when the application says, on the connection it came by (after
        // a reconnection the broker sends the message again, and that copy is acknowledged).
        const socket = this.#socket;
        let acked = false;
        this.#deliver(packet, () => {
          if (acked || socket !== this.#socket) return;
          acked = true;
          this.#sendAll(send);
        });
        return;
      }
      case 'auth':
        this.#authStep(packet);
        return;
      case 'disconnect': {
        const code = packet.reasonCode ?? 0;
        this.#lastError = new ClientError(
          'ERR_CONNECTION_CLOSED',
          this.state,
          `broker sent DISCONNECT 0x${hex(code)} ${reasonCodeName(code)}${packet.properties?.reasonString ? `: ${packet.properties.reasonString}` : ''}`,
          code,
        );
        return;
      }
      default:
        return;
    }
  }

  /** The broker's AUTH: 0x18 continues the exchange under way; 0x00 ends a re-authentication. */
  #authStep(packet: Packet & { type: 'auth' }): void {
    const exchange = this.#authExchange;
    const fail = (message: string) => {
      this.#lastError = new ClientError('ERR_AUTH_FAILED', this.state, message);
      this.#reject('auth', this.#lastError);
      this.#socket?.destroy();
    };
    if (exchange === undefined) {
      fail('the broker sent AUTH with no authentication under way');
      return;
    }
    if ((packet.reasonCode ?? 0) === 0) {
      this.#settle('auth', packet);
      return;
    }
    try {
      const data = exchange.next(packet.properties?.authenticationData ?? Buffer.alloc(0));
      this.#send({
        type: 'auth',
        reasonCode: 0x18,
        properties: { authenticationMethod: this.#options.authentication?.method, authenticationData: data },
      });
    } catch (error) {
      fail((error as Error).message);
    }
  }

  /** MQTT 5 re-authentication (AUTH 0x19) by the method the client connected with. */
  async reauthenticate(): Promise<void> {
    const method = this.#options.authentication;
    if (method === undefined || this.version !== 5)
      throw new ClientError(
        'ERR_PROTOCOL',
        this.state,
        're-authentication needs MQTT 5 and an authentication method',
      );
    await this.#whenOnline();
    const exchange = method.begin();
    this.#authExchange = exchange;
    const done = this.#expect('auth');
    this.#send({
      type: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: method.method, authenticationData: exchange.initial },
    });
    try {
      const success = (await done) as Packet & { type: 'auth' };
      exchange.verify(success.properties?.authenticationData);
    } catch (error) {
      if (error instanceof ClientError) throw error;
      this.#socket?.destroy();
      throw new ClientError('ERR_AUTH_FAILED', this.state, (error as Error).message);
    } finally {
      if (this.#authExchange === exchange) this.#authExchange = undefined;
    }
  }

  #deliver(packet: PublishPacket, ack?: () => void): void {
    const message: ReceivedMessage = {
      topic: packet.topic,
      payload: packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      properties: packet.properties,
      packet,
      ...(ack && { ack }),
    };
    const correlation = packet.properties?.correlationData?.toString('hex');
    const answer = correlation === undefined ? undefined : this.#requests.get(correlation);
    if (answer && packet.topic.startsWith(`${this.#responseBase}/`)) {
      answer(message);
      return;
    }
    this.emit('message', message);
    this.#inbox.push(message);
    // Nobody reading: the oldest go first, so memory stays bounded.
    if (this.#inbox.length > INBOX_LIMIT) this.#inbox.shift();
    this.#wakeReaders();
  }

  #wakeReaders(): void {
    const readers = [...this.#readers];
    this.#readers.clear();
    for (const wake of readers) wake();
  }
}
