// Password hashes as stored in a password file: warden's own salted scrypt, SCRAM-SHA-256 entries
// (PostgreSQL's form, usable for both CONNECT passwords and SCRAM), and what mosquitto_passwd
// writes ($7$ PBKDF2-SHA512, $6$ SHA-512) so users migrate without resetting passwords. Every
// comparison is constant time; nothing here logs.

import { createHash, createHmac, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (
  password: string | Buffer,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export type HashAlgorithm = 'scrypt' | 'scram-sha-256' | 'sha512-pbkdf2' | 'sha512';

/** scrypt cost 2^15, r 8, p 1: about 100 ms and 32 MiB per check, off the event loop. */
const SCRYPT = { ln: 15, r: 8, p: 1 };
const SCRAM_ITERATIONS = 4096; // RFC 7677's minimum and PostgreSQL's default
const MOSQUITTO_ITERATIONS = 101; // mosquitto_passwd's default for $7$

/** SCRAM-SHA-256 server secrets, RFC 5802: what the broker needs to check a proof without the password. */
export interface ScramSecret {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

const hmac = (key: Buffer, text: string | Buffer) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

export async function scramSecret(password: string, salt: Buffer, iterations: number): Promise<ScramSecret> {
  const salted = await pbkdf2Async(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  return {
    iterations,
    salt,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

export async function hashPassword(password: string, algorithm: HashAlgorithm = 'scrypt'): Promise<string> {
  switch (algorithm) {
    case 'scrypt': {
      const salt = randomBytes(16);
      const hash = await scryptAsync(password, salt, 32, scryptOptions(SCRYPT.ln, SCRYPT.r, SCRYPT.p));
      return `$scrypt$ln=${SCRYPT.ln},r=${SCRYPT.r},p=${SCRYPT.p}$${b64(salt)}$${b64(hash)}`;
    }
    case 'scram-sha-256': {
      const s = await scramSecret(password, randomBytes(16), SCRAM_ITERATIONS);
      return `SCRAM-SHA-256$${s.iterations}:${b64(s.salt)}$${b64(s.storedKey)}:${b64(s.serverKey)}`;
    }
    case 'sha512-pbkdf2': {
      const salt = randomBytes(12);
      const hash = await pbkdf2Async(password, salt, MOSQUITTO_ITERATIONS, 64, 'sha512');
      return `$7$${MOSQUITTO_ITERATIONS}$${b64(salt)}$${b64(hash)}`;
    }
    case 'sha512': {
      const salt = randomBytes(12);
      return `$6$${b64(salt)}$${b64(createHash('sha512').update(password).update(salt).digest())}`;
    }
  }
}

function scryptOptions(ln: number, r: number, p: number) {
  const N = 2 ** ln;
  return { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 };
}

const b64 = (bytes: Buffer) => bytes.toString('base64');

/** What kind of hash a stored string is, or why it is none. */
export function parseHash(
  stored: string,
): { ok: true; algorithm: HashAlgorithm } | { ok: false; reason: string } {
  if (/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(stored))
    return { ok: true, algorithm: 'scrypt' };
  if (/^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(stored))
    return { ok: true, algorithm: 'scram-sha-256' };
  if (/^\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(stored))
    return { ok: true, algorithm: 'sha512-pbkdf2' };
  if (/^\$6\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(stored)) return { ok: true, algorithm: 'sha512' };
  return {
    ok: false,
    reason:
      'not a known hash ($scrypt$, SCRAM-SHA-256$, or mosquitto_passwd $7$ / $6$); plain text passwords are not accepted',
  };
}

/** The SCRAM secrets of a SCRAM-SHA-256 entry; undefined for other hashes. */
export function scramSecretOf(stored: string): ScramSecret | undefined {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored);
  if (!m) return undefined;
  return {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2]!, 'base64'),
    storedKey: Buffer.from(m[3]!, 'base64'),
    serverKey: Buffer.from(m[4]!, 'base64'),
  };
}

/** Whether `password` matches the stored hash; false for a malformed one. */
export async function verifyPassword(stored: string, password: string | Buffer): Promise<boolean> {
  const text = typeof password === 'string' ? password : password.toString('utf8');
  const parts = stored.split('$');
  if (stored.startsWith('$scrypt$')) {
    const params = Object.fromEntries((parts[2] ?? '').split(',').map((kv) => kv.split('=')));
    const expected = Buffer.from(parts[4] ?? '', 'base64');
    const ln = Number(params.ln);
    if (!(ln >= 1 && ln <= 20) || expected.length === 0) return false;
    const salt = Buffer.from(parts[3] ?? '', 'base64');
    const actual = await scryptAsync(
      text,
      salt,
      expected.length,
      scryptOptions(ln, Number(params.r), Number(params.p)),
    );
    return timingSafeEqual(actual, expected);
  }
  const scram = scramSecretOf(stored);
  if (scram) {
    const computed = await scramSecret(text, scram.salt, scram.iterations);
    return (
      computed.storedKey.length === scram.storedKey.length &&
      timingSafeEqual(computed.storedKey, scram.storedKey)
    );
  }
  if (stored.startsWith('$7$')) {
    const expected = Buffer.from(parts[4] ?? '', 'base64');
    const iterations = Number(parts[2]);
    if (!(iterations >= 1) || expected.length === 0) return false;
    const actual = await pbkdf2Async(
      text,
      Buffer.from(parts[3] ?? '', 'base64'),
      iterations,
      expected.length,
      'sha512',
    );
    return timingSafeEqual(actual, expected);
  }
  if (stored.startsWith('$6$')) {
    const expected = Buffer.from(parts[3] ?? '', 'base64');
    const actual = createHash('sha512')
      .update(text)
      .update(Buffer.from(parts[2] ?? '', 'base64'))
      .digest();
    return expected.length === actual.length && timingSafeEqual(actual, expected);
  }
  return false;
}
