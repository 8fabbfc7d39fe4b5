// PKCS#12 files: read the certificates and key out of one (a trust store or a key store), and
// write one from a certificate chain and key. PKI.js does the ASN.1 and the password-based
// crypto; it is loaded on first use so that a program that never touches PKCS#12 never loads it.

import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { pemBlocks, toPem } from './pem.js';

export interface Pkcs12Contents {
  /** Every certificate in the file as PEM, in file order. */
  readonly certificatesPem: readonly string[];
  /** The private key as PKCS#8 PEM, when the file holds one. */
  readonly privateKeyPem?: string;
}

const CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const LOCAL_KEY_ID = '1.2.840.113549.1.9.21';
// OpenSSL 3's defaults: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, a SHA-256 MAC.
const ITERATIONS = 100_000;

type Pkijs = typeof import('pkijs');
type Asn1js = typeof import('asn1js');
let loaded: Promise<{ pki: Pkijs; asn1: Asn1js }> | undefined;

function pkijs(): Promise<{ pki: Pkijs; asn1: Asn1js }> {
  loaded ??= Promise.all([import('pkijs'), import('asn1js')]).then(([pki, asn1]) => {
    const crypto = webcrypto as unknown as ConstructorParameters<Pkijs['CryptoEngine']>[0]['crypto'];
    pki.setEngine('node', new pki.CryptoEngine({ name: 'node', crypto }));
    return { pki, asn1 };
  });
  return loaded;
}

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

/** Opens a PKCS#12 file; a wrong passphrase, a damaged file and legacy RC2 encryption are told apart. */
export async function readPkcs12(data: Uint8Array, passphrase = ''): Promise<Pkcs12Contents> {
  const { pki } = await pkijs();
  const password = arrayBuffer(Buffer.from(passphrase, 'utf8'));
  let pfx: InstanceType<Pkijs['PFX']>;
  try {
    pfx = pki.PFX.fromBER(arrayBuffer(data));
  } catch {
    throw new Error('not a PKCS#12 file (no PFX structure in it)');
  }
  try {
    await pfx.parseInternalValues({ password, checkIntegrity: true });
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(
      /integrity/i.test(message)
        ? 'wrong passphrase, or the file is damaged (its MAC does not match)'
        : message,
    );
  }
  const safe = pfx.parsedValue?.authenticatedSafe;
  if (safe === undefined) throw new Error('not a PKCS#12 file (no authenticated safe in it)');
  try {
    await safe.parseInternalValues({ safeContents: safe.safeContents.map(() => ({ password })) });
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(
      /1\.2\.840\.113549\.1\.12\.1\.[56]/.test(message)
        ? 'it is encrypted with RC2 (openssl pkcs12 -legacy), which is not supported: export it again with OpenSSL 3 defaults'
        : `cannot decrypt it: ${message}`,
    );
  }
  const certificatesPem: string[] = [];
  let privateKeyPem: string | undefined;
  for (const contents of safe.parsedValue?.safeContents ?? []) {
    for (const bag of contents.value.safeBags) {
      if (bag.bagId === CERT_BAG) {
        const cert = (bag.bagValue as InstanceType<Pkijs['CertBag']>).parsedValue;
        if (cert instanceof pki.Certificate)
          certificatesPem.push(toPem(cert.toSchema().toBER(), 'CERTIFICATE'));
      } else if (bag.bagId === SHROUDED_KEY_BAG || bag.bagId === KEY_BAG) {
        const info =
          bag.bagId === KEY_BAG
            ? (bag.bagValue as InstanceType<Pkijs['PrivateKeyInfo']>)
            : await decryptKeyBag(bag.bagValue as InstanceType<Pkijs['PKCS8ShroudedKeyBag']>, password);
        if (info) privateKeyPem ??= toPem(info.toSchema().toBER(), 'PRIVATE KEY');
      }
    }
  }
  return { certificatesPem, privateKeyPem };
}

/** A shrouded key bag is encrypted on its own, inside the safe (PKI.js types its decryption as protected). */
async function decryptKeyBag(bag: InstanceType<Pkijs['PKCS8ShroudedKeyBag']>, password: ArrayBuffer) {
  await (
    bag as unknown as { parseInternalValues(p: { password: ArrayBuffer }): Promise<void> }
  ).parseInternalValues({
    password,
  });
  return bag.parsedValue;
}

export interface Pkcs12Input {
  /** The certificate first, then any intermediates (PEM). */
  readonly certificatePem: string;
  /** The private key (PEM, any form Node reads). */
  readonly privateKeyPem: string;
  readonly passphrase: string;
}

/** A PKCS#12 key store as OpenSSL 3 writes one by default, readable by Node's tls, OpenSSL and Java. */
export async function createPkcs12(input: Pkcs12Input): Promise<Buffer> {
  const { pki, asn1 } = await pkijs();
  const password = arrayBuffer(Buffer.from(input.passphrase, 'utf8'));
  const keyDer = createPrivateKey(input.privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const chain = pemBlocks(input.certificatePem, 'CERTIFICATE').map(
    (block) => new X509Certificate(block.text).raw,
  );
  if (chain.length === 0) throw new Error('no certificate to put in the PKCS#12 file');
  // The localKeyID ties the key to its certificate, as OpenSSL and Java look for it.
  const keyId = new pki.Attribute({
    type: LOCAL_KEY_ID,
    values: [new asn1.OctetString({ valueHex: arrayBuffer(chain[0]!.subarray(0, 20)) })],
  });
  const keyBag = new pki.PKCS8ShroudedKeyBag({
    parsedValue: pki.PrivateKeyInfo.fromBER(arrayBuffer(keyDer)),
  });
  const certBags = chain.map(
    (der, i) =>
      new pki.SafeBag({
        bagId: CERT_BAG,
        bagValue: new pki.CertBag({ parsedValue: pki.Certificate.fromBER(arrayBuffer(der)) }),
        bagAttributes: i === 0 ? [keyId] : undefined,
      }),
  );
  const pfx = new pki.PFX({
    parsedValue: {
      integrityMode: 0,
      authenticatedSafe: new pki.AuthenticatedSafe({
        parsedValue: {
          safeContents: [
            {
              privacyMode: 0,
              value: new pki.SafeContents({
                safeBags: [
                  new pki.SafeBag({ bagId: SHROUDED_KEY_BAG, bagValue: keyBag, bagAttributes: [keyId] }),
                ],
              }),
            },
            { privacyMode: 1, value: new pki.SafeContents({ safeBags: certBags }) },
          ],
        },
      }),
    },
  });
  const encryption = {
    password,
    contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 },
    hmacHashAlgorithm: 'SHA-256',
    iterationCount: ITERATIONS,
  };
  await keyBag.makeInternalValues(encryption);
  await pfx.parsedValue?.authenticatedSafe?.makeInternalValues({ safeContents: [{}, encryption] });
  await pfx.makeInternalValues({
    password,
    iterations: ITERATIONS,
    pbkdf2HashAlgorithm: 'SHA-256',
    hmacHashAlgorithm: 'SHA-256',
  });
  return Buffer.from(pfx.toSchema().toBER());
}
