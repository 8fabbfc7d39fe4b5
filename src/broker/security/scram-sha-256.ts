// SCRAM-SHA-256 (RFC 5802, RFC 7677) as an MQTT 5 enhanced authentication method: the password
// never crosses the wire, and the client learns the broker knew it. Secrets come from
// "SCRAM-SHA-256$..." entries of the password file. An unknown user goes through the same
// exchange with made-up secrets and fails at the end, so the exchange does not tell who exists.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ReasonCode } from '../../protocol/index.js';
import type { EnhancedAuthenticator, EnhancedAuthStep } from '../core/ports.js';
import type { ScramSecret } from './password-hash.js';

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

const failure = (reason: string): EnhancedAuthStep => ({
  kind: 'failure',
  reason,
  reasonCode: ReasonCode.NotAuthorized,
});

/** Attribute "k=v" pairs of a SCRAM message, in order. */
function attributes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

/** saslname: "=2C" is ",", "=3D" is "=" (RFC 5802 5.1). */
const saslName = (name: string) => name.replace(/=2C/g, ',').replace(/=3D/g, '=');

export function scramSha256(secretOf: (username: string) => ScramSecret | undefined): EnhancedAuthenticator {
  // Made-up secrets for unknown users: a fixed salt per broker run, so asking twice looks the same.
  const decoySalt = randomBytes(16);
  return {
    method: 'SCRAM-SHA-256',
    start(request) {
      const clientFirst = request.data?.toString('utf8') ?? '';
      // GS2 header: "n,," (no channel binding) or "y,,"; channel binding ("p=") is not offered.
      const header = /^([ny]),(?:a=[^,]*)?,/.exec(clientFirst);
      if (!header)
        return failure('SCRAM: client-first-message has no GS2 header, or asks for channel binding');
      const bare = clientFirst.slice(header[0].length);
      const fields = attributes(bare);
      const username = saslName(fields.get('n') ?? '');
      const clientNonce = fields.get('r');
      if (username === '' || !clientNonce)
        return failure('SCRAM: client-first-message without user name or nonce');
      const known = secretOf(username);
      const secret = known ?? {
        iterations: 4096,
        salt: sha256(Buffer.concat([decoySalt, Buffer.from(username)])).subarray(0, 16),
        storedKey: randomBytes(32),
        serverKey: randomBytes(32),
      };
      const nonce = `${clientNonce}${randomBytes(18).toString('base64')}`;
      const serverFirst = `r=${nonce},s=${secret.salt.toString('base64')},i=${secret.iterations}`;
      return {
        kind: 'continue',
        data: Buffer.from(serverFirst),
        next(data) {
          const clientFinal = data?.toString('utf8') ?? '';
          const final = attributes(clientFinal);
          const proof = Buffer.from(final.get('p') ?? '', 'base64');
          if (final.get('r') !== nonce) return failure('SCRAM: the nonce changed');
          if (final.get('c') !== Buffer.from(header[0]).toString('base64'))
            return failure('SCRAM: channel binding data does not match the GS2 header');
          const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
          const authMessage = `${bare},${serverFirst},${withoutProof}`;
          const signature = hmac(secret.storedKey, authMessage);
          if (proof.length !== signature.length) return failure('SCRAM: malformed proof');
          const clientKey = Buffer.from(proof.map((byte, i) => byte ^ signature[i]!));
          if (known === undefined || !timingSafeEqual(sha256(clientKey), secret.storedKey))
            return failure(`SCRAM: wrong password or unknown user ${username}`);
          return {
            kind: 'success',
            username,
            data: Buffer.from(`v=${hmac(secret.serverKey, authMessage).toString('base64')}`),
          };
        },
      };
    },
  };
}
