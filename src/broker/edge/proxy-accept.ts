// A listener behind a load balancer (PROXY protocol): every connection's first bytes must be
// the header, from a peer allowed to send one, within a time-out; what it says replaces the
// socket's address, and with v2's TLS TLVs the certificate the proxy verified becomes the
// identity, as a TLS listener's would (require_certificate, use_identity_as_username).

import { BlockList, isIPv6, type Socket } from 'node:net';
import type { PeerIdentity } from '../core/ports.js';
import { type ProxyHeader, parseProxyHeader } from './proxy-header.js';

export interface ProxyOptions {
  readonly version: 1 | 2;
  /** Peers allowed to send a header (addresses or CIDR ranges); absent: any. */
  readonly trustedProxies?: readonly string[];
  /** v2: refuse clients that did not reach the proxy over TLS (proxy_protocol_v2_require_tls). */
  readonly requireTls: boolean;
  /** A client certificate the proxy verified: not asked for, optional, or required. */
  readonly clientCertificates: 'none' | 'optional' | 'required';
  /** The verified certificate's CN is the user name (use_identity_as_username). */
  readonly identityAsUsername: boolean;
}

/** Milliseconds a connection has to deliver its whole header. */
export const PROXY_HEADER_TIMEOUT_MS = 5000;

/** A refusal: `reason` is one of a few (counted by it), `detail` says what this connection did. */
export type ProxyRefusal = { readonly refused: string; readonly reason: string };
export type Proxied = { readonly remote: string; readonly identity?: PeerIdentity } | ProxyRefusal;

const refuse = (reason: string, detail: string): ProxyRefusal => ({ refused: detail, reason });

/** Peers' addresses as a BlockList (CIDR or single addresses); a bad entry throws naming it. */
export function trustedList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/**
 * Reads the header off the socket (what follows it is put back for MQTT), then says who the
 * client is. The socket is paused when this resolves.
 */
export async function acceptProxied(
  socket: Socket,
  options: ProxyOptions,
  trusted?: BlockList,
): Promise<Proxied> {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const address = socket.remoteAddress ?? '';
  if (trusted && !trusted.check(address, isIPv6(address) ? 'ipv6' : 'ipv4'))
    return refuse('PROXY header from an untrusted peer', `${address} is not in trustedProxies`);
  const header = await readHeader(socket, options.version);
  if ('refused' in header) return refuse('PROXY header missing or malformed', header.refused);
  if (header.local) return { remote: peer };
  return judge(header, options, peer);
}

function readHeader(socket: Socket, version: 1 | 2): Promise<ProxyHeader | { refused: string }> {
  return new Promise((resolve) => {
    let bytes: Buffer = Buffer.alloc(0);
    const done = (result: ProxyHeader | { refused: string }, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      socket.pause();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
      const parsed = parseProxyHeader(bytes, version);
      if ('more' in parsed) return;
      if ('refused' in parsed) done(parsed);
      else done(parsed.header, bytes.subarray(parsed.length));
    };
    const onClose = () => done({ refused: 'closed before its PROXY header' });
    const timer = setTimeout(
      () => done({ refused: `no complete PROXY header within ${PROXY_HEADER_TIMEOUT_MS} ms` }),
      PROXY_HEADER_TIMEOUT_MS,
    );
    socket.on('data', onData).once('close', onClose);
  });
}

function judge(header: ProxyHeader, options: ProxyOptions, peer: string): Proxied {
  const remote = header.source ? `${header.source.address}:${header.source.port}` : peer;
  const tls = header.tls;
  if (options.requireTls && tls === undefined)
    return refuse('PROXY: client not over TLS', `${remote} did not reach the proxy over TLS`);
  const verified = tls?.clientCertificate === true && tls.verified && tls.commonName !== undefined;
  if (options.clientCertificates === 'required' && !verified)
    return refuse(
      'PROXY: no verified client certificate',
      `${remote} brought no client certificate the proxy verified (with its CN)`,
    );
  if (!verified || options.clientCertificates === 'none') return { remote };
  const cn = tls.commonName!;
  // A name with NUL or invalid UTF-8 could stand for another: refused as at a TLS listener.
  if (/[\u0000\uFFFD]/.test(cn))
    return refuse(
      'PROXY: unusable certificate name',
      `${remote}: the certificate CN has a NUL or invalid UTF-8`,
    );
  return {
    remote,
    identity: {
      source: 'certificate',
      subject: `CN=${cn}`,
      ...(options.identityAsUsername && { username: cn }),
      requireClientIdMatch: false,
    },
  };
}
