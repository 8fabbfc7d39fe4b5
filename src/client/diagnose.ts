// diagnose(url): the secure connection one step at a time, reported rather than thrown: TCP
// connect, TLS version and cipher, the broker's chain, the verification verdict with its reason,
// ALPN, the stapled OCSP status, CONNECT and CONNACK. The first failing step ends the run and
// gives the exit code, so a script can tell which step broke.

import type { X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { describeCertificate } from '../pki/describe-certificate.js';
import { readOcspResponse } from '../pki/ocsp.js';
import {
  type ConnackPacket,
  encodePacket,
  FrameDecoder,
  type Packet,
  type Properties,
} from '../protocol/index.js';
import { ClientError, connackReasonName } from './client-error.js';
import { openTransport, parseTarget, type TransportOptions } from './connector.js';
import { StageLog } from './stage-log.js';
import { trustSources } from './trust.js';
import { verifyPeer } from './verify-peer.js';

export type StepName = 'tcp' | 'tls' | 'chain' | 'verify' | 'alpn' | 'ocsp' | 'connect';
export type StepResult = 'ok' | 'fail' | 'warn' | 'skip';

export interface DiagnoseStep {
  readonly step: StepName;
  readonly action: string;
  readonly detail: string;
  readonly result: StepResult;
  /** Milliseconds since the start. */
  readonly ms: number;
}

export interface CertificateFacts {
  readonly subject: string;
  readonly issuer: string;
  readonly san: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly daysLeft: number;
  readonly key: string;
}

export interface DiagnoseReport {
  readonly url: string;
  readonly ok: boolean;
  readonly steps: readonly DiagnoseStep[];
  readonly chain: readonly CertificateFacts[];
  readonly connack?: {
    readonly reasonCode: number;
    readonly sessionPresent: boolean;
    readonly properties?: Properties;
  };
  /** 0 all good; 2 TCP; 3 TLS handshake; 4 certificate verification; 5 MQTT CONNECT. */
  readonly exitCode: number;
}

export interface DiagnoseOptions extends TransportOptions {
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  readonly protocolVersion?: 4 | 5;
}

const EXIT = { tcp: 2, tls: 3, chain: 4, verify: 4, alpn: 3, ocsp: 4, connect: 5 } as const;

export async function diagnose(url: string, options: DiagnoseOptions = {}): Promise<DiagnoseReport> {
  const steps: DiagnoseStep[] = [];
  const chainFacts: CertificateFacts[] = [];
  const started = Date.now();
  const add = (step: StepName, action: string, detail: string, result: StepResult) =>
    steps.push({ step, action, detail, result, ms: Date.now() - started });
  const finish = (connack?: DiagnoseReport['connack']): DiagnoseReport => {
    const failed = steps.find((s) => s.result === 'fail');
    return {
      url,
      ok: failed === undefined,
      steps,
      chain: chainFacts,
      connack,
      exitCode: failed ? EXIT[failed.step] : 0,
    };
  };

  const target = parseTarget(url);
  const stages = new StageLog();
  // Open with verification deferred: the chain is reported even when it would be refused.
  const { pins: _pins, trustProvider: _provider, ...open } = options;
  let transport: Awaited<ReturnType<typeof openTransport>>;
  try {
    transport = await openTransport(
      target,
      { ...open, skipChainCheck: true, skipHostnameCheck: true, requestOcsp: true },
      stages,
    );
  } catch (error) {
    const e = error as ClientError;
    if (e.stage === 'tcp-connecting') add('tcp', `connect ${target.host}:${target.port}`, e.message, 'fail');
    else if (e.stage === 'websocket-upgrading') {
      // ws:/wss: only: the MQTT layer could not start, so it counts as the CONNECT step.
      add('tcp', `connect ${target.host}:${target.port}`, 'connected', 'ok');
      add('connect', `WebSocket upgrade ${target.websocketPath}`, e.message, 'fail');
    } else {
      add('tcp', `connect ${target.host}:${target.port}`, 'connected', 'ok');
      add('tls', 'TLS handshake', e.message, 'fail');
    }
    return finish();
  }
  const socket = transport.raw;
  add('tcp', `connect ${target.host}:${target.port}`, `connected to ${socket.remoteAddress}`, 'ok');
  try {
    const tls = transport.tls;
    if (tls) {
      add('tls', 'TLS handshake', `${tls.protocol}, ${tls.cipher}`, 'ok');
      for (const cert of tls.chain) chainFacts.push(facts(cert));
      add(
        'chain',
        'server certificate chain',
        chainFacts.map((c) => `${c.subject} (issuer ${c.issuer}, ${c.daysLeft} days left)`).join(' <- ') ||
          'none (PSK)',
        chainFacts.some((c) => c.daysLeft < 0)
          ? 'fail'
          : chainFacts.some((c) => c.daysLeft < 30)
            ? 'warn'
            : 'ok',
      );
      const checkName = options.servername ?? target.host;
      const refusal = await verifyPeer(
        socket as TLSSocket,
        tls.chain,
        { host: target.host, port: target.port, checkName, servername: options.servername ?? target.host },
        options,
        options.connectTimeoutMs ?? 10_000,
      );
      add(
        'verify',
        `verify against ${trustSources(options)}`,
        refusal ? `${refusal.code}: ${refusal.message}` : `trusted, ${checkName} matches`,
        refusal ? 'fail' : 'ok',
      );
      if (refusal) return finish();
      add(
        'alpn',
        'ALPN',
        tls.alpn ?? 'none negotiated (the broker ignored "mqtt")',
        tls.alpn ? 'ok' : 'warn',
      );
      add('ocsp', 'stapled OCSP', ...ocspVerdict(tls.ocsp, tls.chain));
      if (steps.some((s) => s.result === 'fail')) return finish();
    }
    const connack = await connectOnce(transport.socket, options);
    const name = connackReasonName(options.protocolVersion ?? 5, connack.reasonCode);
    const props = connack.properties ?? {};
    const limits = Object.entries(props)
      .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    add(
      'connect',
      'CONNECT / CONNACK',
      `0x${connack.reasonCode.toString(16).padStart(2, '0')} ${name}${limits ? `; ${limits}` : ''}`,
      connack.reasonCode === 0 ? 'ok' : 'fail',
    );
    return finish({
      reasonCode: connack.reasonCode,
      sessionPresent: connack.sessionPresent,
      properties: connack.properties,
    });
  } catch (error) {
    add('connect', 'CONNECT / CONNACK', (error as Error).message, 'fail');
    return finish();
  } finally {
    socket.destroy();
  }
}

function facts(cert: X509Certificate): CertificateFacts {
  const summary = describeCertificate(cert.raw);
  return {
    subject: summary.subject,
    issuer: summary.issuer,
    san: summary.subjectAltNames.join(', '),
    validFrom: summary.notBefore.toISOString(),
    validTo: summary.notAfter.toISOString(),
    daysLeft: summary.daysLeft,
    key: summary.keyType,
  };
}

function ocspVerdict(
  der: Buffer | null | undefined,
  chain: readonly X509Certificate[],
): [string, StepResult] {
  // Node reports "asked, none sent" as null.
  if (der == null || der.length === 0) return ['none stapled', 'skip'];
  const [leaf, issuer] = chain;
  if (leaf === undefined || issuer === undefined)
    return ['stapled, but no issuer to check it against', 'warn'];
  try {
    const status = readOcspResponse(der, leaf, issuer);
    const until = status.nextUpdate ? `, valid until ${status.nextUpdate.toISOString()}` : '';
    return [`${status.status}${until}`, status.status === 'good' ? 'ok' : 'fail'];
  } catch (error) {
    return [`bad stapled answer: ${(error as Error).message}`, 'fail'];
  }
}

async function connectOnce(socket: Duplex, options: DiagnoseOptions): Promise<ConnackPacket> {
  const version = options.protocolVersion ?? 5;
  const decoder = new FrameDecoder({ protocolVersion: version });
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const answer = new Promise<ConnackPacket>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new ClientError('ERR_CONNACK_TIMEOUT', 'connect-sent', `no CONNACK within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', (chunk: Buffer) => {
      let packets: Packet[];
      try {
        packets = decoder.push(chunk);
      } catch (error) {
        clearTimeout(timer);
        reject(error);
        return;
      }
      const connack = packets.find((p): p is ConnackPacket => p.type === 'connack');
      if (connack) {
        clearTimeout(timer);
        resolve(connack);
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(
        new ClientError(
          'ERR_CONNECTION_CLOSED',
          'connect-sent',
          'the broker closed the connection without CONNACK',
        ),
      );
    });
  });
  socket.write(
    encodePacket(
      {
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: version,
        clean: true,
        keepAlive: 10,
        clientId: options.clientId ?? `warden-diagnose-${process.pid}`,
        username: options.username,
        password: options.password === undefined ? undefined : Buffer.from(options.password),
      },
      version,
    ),
  );
  return answer;
}
