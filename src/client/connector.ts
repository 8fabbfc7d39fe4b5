// The transport half of a connection: TCP connect, then for mqtts the TLS handshake and the
// judgement of the broker, each step entered in the stage log. It returns a socket on which no
// MQTT byte has been sent: a broker that fails verification never receives one.

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ClientError } from './client-error.js';
import type { StageLog } from './stage-log.js';
import { type TrustOptions, trustedCas, trustedCrls } from './trust.js';
import { peerChain, verifyPeer } from './verify-peer.js';

/** A client certificate: PEM chain and key, or PKCS#12. */
export type ClientCertificate =
  | { readonly cert: string | Buffer; readonly key: string | Buffer; readonly passphrase?: string }
  | { readonly pfx: Buffer; readonly passphrase?: string };

export interface TransportOptions extends TrustOptions {
  /** A client certificate, or a provider called at every (re)connect so a rotated one is picked up. */
  readonly certificate?: ClientCertificate | (() => Promise<ClientCertificate> | ClientCertificate);
  /** TLS-PSK instead of certificates (mosquitto's --psk / --psk-identity); key as hex or bytes. */
  readonly psk?: { readonly identity: string; readonly key: string | Buffer };
  /** Name sent as SNI and checked in the certificate; the URL's host by default. */
  readonly servername?: string;
  /** ALPN protocols offered; ['mqtt'] by default (['http/1.1'] for wss:). */
  readonly alpn?: readonly string[];
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers?: string;
  /** Ask the broker to staple an OCSP answer. */
  readonly requestOcsp?: boolean;
  readonly connectTimeoutMs?: number;
}

export interface Target {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  /** ws: and wss: URLs: MQTT over a WebSocket upgraded at this path. */
  readonly websocketPath?: string;
}

export interface TlsDetails {
  readonly protocol: string;
  readonly cipher: string;
  readonly alpn?: string;
  readonly resumed: boolean;
  readonly chain: ReturnType<typeof peerChain>;
  /** The stapled OCSP answer (DER), when asked for and sent. */
  readonly ocsp?: Buffer;
  readonly authorizationError?: string;
}

/** The TLS session kept between connects, and which client certificate it was made with. */
export interface TlsSessionCache {
  ticket?: Buffer;
  certificate?: string;
  /** The chain verified when the session was made. */
  chain?: ReturnType<typeof peerChain>;
}

export interface Transport {
  /** The byte stream MQTT goes over: the TCP or TLS socket, or a WebSocket's stream. */
  readonly socket: Duplex;
  /** The TCP or TLS socket underneath (the same as `socket` without a WebSocket). */
  readonly raw: Socket;
  readonly tls?: TlsDetails;
}

const SCHEMES: Record<string, { secure: boolean; port: number; websocket: boolean }> = {
  'mqtt:': { secure: false, port: 1883, websocket: false },
  'mqtts:': { secure: true, port: 8883, websocket: false },
  'ws:': { secure: false, port: 80, websocket: true },
  'wss:': { secure: true, port: 443, websocket: true },
};

/** Parses mqtt://, mqtts://, ws:// and wss:// URLs (default ports 1883, 8883, 80, 443; path /mqtt). */
export function parseTarget(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClientError('ERR_TCP_CONNECT', 'tcp-connecting', `not a URL: ${url}`);
  }
  const scheme = SCHEMES[parsed.protocol];
  if (scheme === undefined)
    throw new ClientError(
      'ERR_TCP_CONNECT',
      'tcp-connecting',
      `unsupported URL scheme ${parsed.protocol} (use mqtt:, mqtts:, ws: or wss:)`,
    );
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const path = parsed.pathname === '/' || parsed.pathname === '' ? '/mqtt' : parsed.pathname;
  return {
    secure: scheme.secure,
    host,
    port: Number(parsed.port || scheme.port),
    ...(scheme.websocket && { websocketPath: `${path}${parsed.search}` }),
  };
}

/** Whether a TCP connection to host:port opens within timeoutMs (closed at once; no byte sent). */
export function reachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = tcpConnect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      probe.destroy();
      resolve(ok);
    };
    probe.once('connect', () => done(true));
    probe.once('timeout', () => done(false));
    probe.once('error', () => done(false));
  });
}

/**
 * TCP, then (mqtts) TLS and verification. `session` carries the TLS session between connects
 * (resumption); it is updated when the broker sends a new ticket.
 */
export async function openTransport(
  target: Target,
  options: TransportOptions,
  stages: StageLog,
  session: TlsSessionCache = {},
): Promise<Transport> {
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  stages.enter('tcp-connecting', `${target.host}:${target.port}`);
  const tcp = tcpConnect({ host: target.host, port: target.port });
  await step(tcp, 'connect', timeoutMs, (error) => {
    const message = `TCP connect to ${target.host}:${target.port} failed: ${error.message}`;
    return new ClientError('ERR_TCP_CONNECT', 'tcp-connecting', message);
  });
  tcp.setNoDelay(true);
  if (!target.secure) return { socket: await websocketOver(tcp, target, stages, timeoutMs), raw: tcp };

  stages.enter('tls-handshaking');
  const servername = options.servername ?? (isIP(target.host) ? undefined : target.host);
  // A WebSocket goes over HTTP/1.1, and a wss listener answers that ALPN, not "mqtt".
  const alpn = options.alpn ?? (target.websocketPath === undefined ? ['mqtt'] : ['http/1.1']);
  const { certificateKey, ...tlsOptions } = await tlsConnectOptions(options, servername, alpn);
  // A session resumed under another client certificate would keep the old identity at the broker.
  if (session.certificate !== certificateKey) session.ticket = undefined;
  session.certificate = certificateKey;
  let ocsp: Buffer | undefined;
  const tls: TLSSocket = tlsConnect({ ...tlsOptions, session: session.ticket, socket: tcp });
  tls.on('session', (ticket: Buffer) => {
    session.ticket = ticket;
  });
  tls.once('OCSPResponse', (response: Buffer | null) => {
    ocsp = response ?? undefined;
  });
  await step(tls, 'secureConnect', timeoutMs, (error) => {
    const message = `TLS handshake failed: ${tlsFailure(error)}`;
    return new ClientError('ERR_TLS_HANDSHAKE', 'tls-handshaking', message);
  });
  const checkName = options.servername ?? target.host;
  // A resumed TLS 1.3 session carries no certificate: the broker proved it holds the session this
  // client verified (same target, same trust) when it was made, so that verdict and chain stand.
  const presented = peerChain(tls);
  const resumed = tls.isSessionReused() && session.chain !== undefined && presented.length === 0;
  if (!resumed) {
    const refusal = await verifyPeer(
      tls,
      presented,
      { host: target.host, port: target.port, checkName, servername },
      options,
      timeoutMs,
    );
    if (refusal) {
      tls.destroy();
      throw refusal;
    }
    session.chain = presented;
  }
  const chain = session.chain ?? [];
  stages.enter('certificate-verified', chain[0]?.subject.replace(/\n/g, ', ') ?? (options.psk ? 'PSK' : ''));
  const details: TlsDetails = {
    protocol: tls.getProtocol() ?? 'unknown',
    cipher: tls.getCipher().name,
    alpn: tls.alpnProtocol || undefined,
    resumed: tls.isSessionReused(),
    chain,
    ocsp,
    authorizationError: tls.authorizationError ? String(tls.authorizationError) : undefined,
  };
  stages.enter('secure', `${details.protocol} ${details.cipher}${details.resumed ? ' (resumed)' : ''}`);
  return { socket: await websocketOver(tls, target, stages, timeoutMs), raw: tls, tls: details };
}

/**
 * For ws: and wss: targets, the WebSocket upgrade over the socket already connected (and, for
 * wss, verified), offering the "mqtt" subprotocol; the socket itself otherwise. `ws` is loaded
 * only when a WebSocket is asked for.
 */
async function websocketOver(
  socket: Socket,
  target: Target,
  stages: StageLog,
  timeoutMs: number,
): Promise<Duplex> {
  if (target.websocketPath === undefined) return socket;
  stages.enter('websocket-upgrading', target.websocketPath);
  const { WebSocket, createWebSocketStream } = await import('ws');
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const url = `${target.secure ? 'wss' : 'ws'}://${host}:${target.port}${target.websocketPath}`;
  const ws = new WebSocket(url, ['mqtt'], {
    createConnection: () => socket,
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) => {
      socket.destroy();
      reject(
        new ClientError(
          'ERR_WEBSOCKET_UPGRADE',
          'websocket-upgrading',
          `the broker answered the WebSocket upgrade of ${target.websocketPath} with HTTP ${response.statusCode}`,
        ),
      );
    });
    ws.once('error', (error) => {
      socket.destroy();
      reject(
        new ClientError(
          'ERR_WEBSOCKET_UPGRADE',
          'websocket-upgrading',
          `WebSocket upgrade failed: ${error.message}`,
        ),
      );
    });
  });
  if (ws.protocol !== 'mqtt') {
    ws.terminate();
    throw new ClientError(
      'ERR_WEBSOCKET_UPGRADE',
      'websocket-upgrading',
      `the broker did not accept the "mqtt" WebSocket subprotocol (it chose "${ws.protocol}")`,
    );
  }
  return createWebSocketStream(ws);
}

async function tlsConnectOptions(
  options: TransportOptions,
  servername: string | undefined,
  alpn: readonly string[],
): Promise<ConnectionOptions & { requestOCSP?: boolean; certificateKey?: string }> {
  let ca: string[];
  let crl: string[] | undefined;
  let certificate: ClientCertificate | undefined;
  try {
    ca = await trustedCas(options);
    crl = trustedCrls(options);
    certificate =
      typeof options.certificate === 'function' ? await options.certificate() : options.certificate;
  } catch (error) {
    throw new ClientError('ERR_TLS_CONFIG', 'tls-handshaking', (error as Error).message);
  }
  const psk = options.psk;
  const material = certificate && ('pfx' in certificate ? certificate.pfx : certificate.cert);
  return {
    certificateKey: material && createHash('sha256').update(material).digest('hex'),
    servername,
    ca,
    crl,
    ...certificate,
    minVersion: options.minVersion ?? 'TLSv1.2',
    maxVersion: options.maxVersion,
    ciphers: psk ? `${options.ciphers ?? 'DEFAULT'}:PSK` : options.ciphers,
    ALPNProtocols: [...alpn],
    requestOCSP: options.requestOcsp,
    // Judged in verifyPeer, before CONNECT, so each failure is told precisely.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    ...(psk && {
      pskCallback: () => ({
        identity: psk.identity,
        psk: typeof psk.key === 'string' ? Buffer.from(psk.key, 'hex') : psk.key,
      }),
    }),
  };
}

/** OpenSSL's words for a failed handshake, shortened to what a person can act on. */
function tlsFailure(error: Error & { code?: string }): string {
  const alert = /alert (?:number \d+|[a-z ]+)/i.exec(error.message)?.[0];
  if (error.code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
    return 'the broker requires a client certificate';
  if (alert) return `${error.message.replace(/^.*routines::/, '')} (${alert})`;
  return error.message;
}

/** Waits for `event`, failing on 'error', close, or the time limit. */
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
