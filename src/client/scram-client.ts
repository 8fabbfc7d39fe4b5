// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) for MQTT 5 enhanced authentication: the
// password never crosses the wire, and the broker must prove it knew it before the client trusts
// the CONNACK. One `begin()` per connection attempt, so every exchange has fresh nonces.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** An enhanced authentication method, as the client runs it. */
export interface ClientAuthMethod {
  readonly method: string;
  begin(): ClientAuthExchange;
}

export interface ClientAuthExchange {
  /** Authentication Data for CONNECT (or AUTH 0x19). */
  readonly initial: Buffer;
  /** The answer to the broker's AUTH 0x18 data; throws when the data is unacceptable. */
  next(serverData: Buffer): Buffer;
  /** Checks the broker's last data (CONNACK or AUTH 0x00); throws when it does not prove the broker. */
  verify(serverData: Buffer | undefined): void;
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** saslname escaping (RFC 5802 5.1): "," as "=2C", "=" as "=3D". */
const saslName = (name: string) => name.replace(/=/g, '=3D').replace(/,/g, '=2C');

export function scramSha256(username: string, password: string): ClientAuthMethod {
  return {
    method: 'SCRAM-SHA-256',
    begin() {
      const clientNonce = randomBytes(18).toString('base64');
      const bare = `n=${saslName(username)},r=${clientNonce}`;
      let expected: Buffer | undefined;
      return {
        initial: Buffer.from(`n,,${bare}`),
        next(serverData) {
          const serverFirst = serverData.toString('utf8');
          const fields = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
          const nonce = fields.get('r') ?? '';
          const salt = Buffer.from(fields.get('s') ?? '', 'base64');
          const iterations = Number(fields.get('i'));
          if (!nonce.startsWith(clientNonce) || nonce === clientNonce)
            throw new Error('SCRAM: the broker did not extend our nonce');
          if (salt.length === 0 || !Number.isInteger(iterations) || iterations < 4096)
            throw new Error('SCRAM: the broker sent no salt or fewer than 4096 iterations');
          const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
          const clientKey = hmac(salted, 'Client Key');
          const storedKey = createHash('sha256').update(clientKey).digest();
          const withoutProof = `c=biws,r=${nonce}`;
          const authMessage = `${bare},${serverFirst},${withoutProof}`;
          const signature = hmac(storedKey, authMessage);
          const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
          expected = hmac(hmac(salted, 'Server Key'), authMessage);
          return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
        },
        verify(serverData) {
          const text = serverData?.toString('utf8') ?? '';
          const given = Buffer.from(text.startsWith('v=') ? text.slice(2) : '', 'base64');
          if (expected === undefined || given.length !== expected.length || !timingSafeEqual(given, expected))
            throw new Error(
              'SCRAM: the broker did not prove it knows the password (server signature missing or wrong)',
            );
        },
      };
    },
  };
}
