// A certificate authority read back from its files (`warden certs ca` writes them; OpenSSL-made
// ones work too): the CA certificate, the intermediates above it, and its private key.

import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import type { CertificateAuthority } from './certificate-authority.js';
import { joinPem } from './certificate-authority.js';
import { type CryptoKeyPair, type KeyType, x509 } from './key-pair.js';
import { pemBlocks } from './pem.js';

/**
 * `certificatePem` holds the CA certificate first, then any intermediates up to (not needing)
 * the root; `privateKeyPem` its key in any form Node reads (PKCS#8, SEC1, PKCS#1).
 */
export async function loadCertificateAuthority(
  certificatePem: string,
  privateKeyPem: string,
  passphrase?: string,
): Promise<CertificateAuthority> {
  const blocks = pemBlocks(certificatePem, 'CERTIFICATE').map((b) => b.text);
  const first = blocks[0];
  if (first === undefined) throw new Error('the CA certificate file holds no PEM certificate');
  const node = new X509Certificate(first);
  if (!node.ca)
    throw new Error(
      `${node.subject.replace(/\n/g, ', ')} is not a CA certificate (basicConstraints CA:FALSE)`,
    );
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey({ key: privateKeyPem, passphrase });
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(
      /passphrase|bad decrypt/i.test(message)
        ? 'the CA key is encrypted: give its passphrase'
        : `the CA key cannot be read: ${message}`,
    );
  }
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(node.publicKey)))
    throw new Error('the CA key does not belong to the CA certificate');
  const keyType = caKeyType(key);
  const algorithm =
    keyType === 'ec-p256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const keys: CryptoKeyPair = {
    privateKey: await webcrypto.subtle.importKey(
      'pkcs8',
      key.export({ type: 'pkcs8', format: 'der' }),
      algorithm,
      true,
      ['sign'],
    ),
    publicKey: await webcrypto.subtle.importKey('spki', spki(node.publicKey), algorithm, true, ['verify']),
  };
  const certificate = new x509.X509Certificate(first);
  const selfSigned = (c: X509Certificate) => c.checkIssued(c);
  return {
    subject: certificate.subject,
    certificatePem: `${first}\n`,
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // What a certificate this CA issues is sent with: this CA and the intermediates above it.
    chainPem: selfSigned(node) ? '' : joinPem(...blocks.filter((b) => !selfSigned(new X509Certificate(b)))),
    keyType,
    certificate,
    keys,
  };
}

function caKeyType(key: ReturnType<typeof createPrivateKey>): KeyType {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-2048';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return 'ec-p256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new Error(
    `the CA key is ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}: only EC P-256 and RSA CA keys are supported`,
  );
}
