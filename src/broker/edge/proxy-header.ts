// The PROXY protocol header a load balancer puts before a connection's first byte (haproxy's
// spec, versions 1 and 2): who the client really is, and with v2's TLS TLVs whether the proxy
// terminated TLS and verified a client certificate. A parser over the bytes read so far: it
// asks for more, returns the header and how many bytes it took, or says what is wrong. Never
// guesses: a connection without a header is refused.

/** v1: "PROXY " ... "\r\n", at most 107 bytes (the spec's bound). */
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Longest v2 header accepted: addresses and TLVs (a certificate chain does not belong in it). */
export const V2_MAX = 16 + 2048;

const PP2_TYPE_SSL = 0x20;
const PP2_SUBTYPE_SSL_VERSION = 0x21;
const PP2_SUBTYPE_SSL_CN = 0x22;
const PP2_CLIENT_SSL = 0x01;
const PP2_CLIENT_CERT_CONN = 0x02;
const PP2_CLIENT_CERT_SESS = 0x04;

export interface ProxyTls {
  /** The SSL TLV's sub-TLV, "TLSv1.3". */
  readonly version?: string;
  /** The client presented a certificate (on this connection or its session). */
  readonly clientCertificate: boolean;
  /** The proxy verified it (the TLV's verify field is 0). */
  readonly verified: boolean;
  /** Its subject's common name, as the proxy sent it (send-proxy-v2-ssl-cn). */
  readonly commonName?: string;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /** LOCAL (v2) or UNKNOWN (v1): the proxy's own connection, such as a health check. */
  readonly local: boolean;
  /** The client's address and port, for a proxied connection over TCP (IPv4 or IPv6) or UNIX. */
  readonly source?: { readonly address: string; readonly port: number };
  /** v2: the client came to the proxy over TLS. */
  readonly tls?: ProxyTls;
}

export type ProxyParse =
  | { readonly more: true }
  | { readonly header: ProxyHeader; readonly length: number }
  | { readonly refused: string };

/** Parses a header of `version` at the start of `bytes`. */
export function parseProxyHeader(bytes: Buffer, version: 1 | 2): ProxyParse {
  return version === 1 ? parseV1(bytes) : parseV2(bytes);
}

function parseV1(bytes: Buffer): ProxyParse {
  const prefix = 'PROXY ';
  const head = bytes.subarray(0, prefix.length).toString('latin1');
  if (!prefix.startsWith(head)) return { refused: 'no PROXY protocol v1 header' };
  const end = bytes.indexOf('\r\n');
  if (end === -1)
    return bytes.length >= V1_MAX
      ? { refused: `PROXY v1 header longer than ${V1_MAX} bytes` }
      : { more: true };
  if (end + 2 > V1_MAX) return { refused: `PROXY v1 header longer than ${V1_MAX} bytes` };
  const parts = bytes.subarray(0, end).toString('latin1').split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { header: { version: 1, local: true }, length };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6'))
    return { refused: `malformed PROXY v1 header "${parts.join(' ').slice(0, 60)}"` };
  const [, family, source, , sourcePort] = parts as [string, string, string, string, string, string];
  const port = Number(sourcePort);
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(source);
  if (!Number.isInteger(port) || port < 0 || port > 65_535 || (family === 'TCP4') !== ipv4)
    return { refused: `malformed PROXY v1 address "${source}:${sourcePort}"` };
  return { header: { version: 1, local: false, source: { address: source, port } }, length };
}

function parseV2(bytes: Buffer): ProxyParse {
  const seen = Math.min(bytes.length, V2_SIGNATURE.length);
  if (!bytes.subarray(0, seen).equals(V2_SIGNATURE.subarray(0, seen)))
    return { refused: 'no PROXY protocol v2 header' };
  if (bytes.length < 16) return { more: true };
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return { refused: `PROXY v2 header with version ${versionCommand >> 4}` };
  const command = versionCommand & 0x0f;
  if (command > 1) return { refused: `PROXY v2 header with command ${command}` };
  const length = 16 + bytes.readUInt16BE(14);
  if (length > V2_MAX) return { refused: `PROXY v2 header of ${length} bytes (at most ${V2_MAX})` };
  if (bytes.length < length) return { more: true };
  if (command === 0) return { header: { version: 2, local: true }, length };
  const family = bytes[13]! >> 4;
  const body = bytes.subarray(16, length);
  const addressLength = family === 1 ? 12 : family === 2 ? 36 : family === 3 ? 216 : 0;
  if (body.length < addressLength) return { refused: 'PROXY v2 header shorter than its addresses' };
  const source =
    family === 1
      ? { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) }
      : family === 2
        ? { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) }
        : family === 3
          ? { address: body.subarray(0, 108).toString('latin1').replace(/\0.*$/s, ''), port: 0 }
          : undefined;
  const tlvs = readTlvs(body.subarray(addressLength));
  if ('refused' in tlvs) return tlvs;
  return {
    header: { version: 2, local: false, ...(source && { source }), ...(tlvs.tls && { tls: tlvs.tls }) },
    length,
  };
}

function readTlvs(bytes: Buffer): { tls?: ProxyTls } | { refused: string } {
  let tls: ProxyTls | undefined;
  for (let at = 0; at < bytes.length; ) {
    if (at + 3 > bytes.length) return { refused: 'PROXY v2 header with a truncated TLV' };
    const type = bytes[at]!;
    const size = bytes.readUInt16BE(at + 1);
    const value = bytes.subarray(at + 3, at + 3 + size);
    if (value.length < size) return { refused: 'PROXY v2 header with a truncated TLV' };
    if (type === PP2_TYPE_SSL) {
      if (size < 5) return { refused: 'PROXY v2 SSL TLV shorter than 5 bytes' };
      const client = value[0]!;
      const sub = readSubTlvs(value.subarray(5));
      if (sub === undefined) return { refused: 'PROXY v2 SSL TLV with a truncated sub-TLV' };
      tls = {
        ...(sub.version !== undefined && { version: sub.version }),
        clientCertificate: (client & (PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS)) !== 0,
        verified: (client & PP2_CLIENT_SSL) !== 0 && value.readUInt32BE(1) === 0,
        ...(sub.commonName !== undefined && { commonName: sub.commonName }),
      };
    }
    at += 3 + size;
  }
  return tls ? { tls } : {};
}

function readSubTlvs(bytes: Buffer): { version?: string; commonName?: string } | undefined {
  const found: { version?: string; commonName?: string } = {};
  for (let at = 0; at < bytes.length; ) {
    if (at + 3 > bytes.length) return undefined;
    const size = bytes.readUInt16BE(at + 1);
    const value = bytes.subarray(at + 3, at + 3 + size);
    if (value.length < size) return undefined;
    if (bytes[at] === PP2_SUBTYPE_SSL_VERSION) found.version = value.toString('utf8');
    if (bytes[at] === PP2_SUBTYPE_SSL_CN) found.commonName = value.toString('utf8');
    at += 3 + size;
  }
  return found;
}

/** Eight groups, uncompressed: valid IPv6 text, and what the log shows. */
function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}
