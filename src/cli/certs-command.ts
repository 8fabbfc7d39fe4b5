// `warden certs`: a small PKI for a broker and its devices. Creates a CA, issues server and client
// certificates, revokes them into a CRL, and inspects any certificate, bundle, CRL or PKCS#12.
// Every file is PEM (PKCS#12 on request) and usable as is by the broker config and mosquitto.

import { X509Certificate } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createCrl,
  createPkcs12,
  describeCertificate,
  type IssuedCertificate,
  issueCertificate,
  type KeyType,
  normalizedName,
  normalizedSerial,
  readCrl,
} from '../pki/index.js';
import { inspectCommand } from './certs-inspect-command.js';
import { envSecret } from './env-secret.js';
import { type CaFlags, PkiFiles } from './pki-files.js';

interface IssueFlags extends CaFlags {
  keyType: KeyType;
  days?: number;
  out?: string;
  p12?: boolean;
  passphraseEnv?: string;
  force?: boolean;
}

const positive = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a number of ${what}`);
  return n;
};
const collect = (value: string, all: string[] = []) => [...all, value];

function caFlags(command: Command): Command {
  return command
    .option('--dir <dir>', 'the CA directory (ca.crt, ca.key, crl.pem)', 'pki')
    .option('--ca-cert <file>', 'the CA certificate (default <dir>/ca.crt)')
    .option('--ca-key <file>', 'the CA key (default <dir>/ca.key)')
    .option('--ca-key-passphrase-env <var>', 'environment variable holding the CA key passphrase');
}

function issueFlags(command: Command, defaultDays: number): Command {
  return caFlags(command)
    .addOption(
      new Option('--key-type <type>', 'key type').choices(['ec-p256', 'rsa-2048']).default('ec-p256'),
    )
    .option('--days <n>', `validity in days (default ${defaultDays})`, positive('days'))
    .option('--out <name>', 'file name without extension (default: the name)')
    .option('--p12', 'also write a PKCS#12 file (passphrase from --passphrase-env)')
    .option('--passphrase-env <var>', 'environment variable holding the PKCS#12 passphrase')
    .option('--force', 'overwrite existing files');
}

export function certsCommand(): Command {
  const certs = new Command('certs').description(
    'a CA for the broker and its devices: create, issue, revoke, inspect (PEM files usable by the broker and mosquitto)',
  );

  certs
    .command('ca')
    .description('create a certificate authority: <dir>/ca.crt and <dir>/ca.key')
    .option('--dir <dir>', 'where to write ca.crt and ca.key', 'pki')
    .option('--name <name>', 'common name or full DN', 'Warden CA')
    .addOption(
      new Option('--key-type <type>', 'key type').choices(['ec-p256', 'rsa-2048']).default('ec-p256'),
    )
    .option('--days <n>', 'validity in days', positive('days'), 3650)
    .option('--issuer-dir <dir>', 'make an intermediate CA signed by the CA in this directory')
    .option('--force', 'overwrite an existing CA')
    .action(
      async (flags: {
        dir: string;
        name: string;
        keyType: KeyType;
        days: number;
        issuerDir?: string;
        force?: boolean;
      }) => {
        const files = new PkiFiles({ dir: flags.dir }, flags.force);
        const issuer = flags.issuerDir ? await new PkiFiles({ dir: flags.issuerDir }).loadCa() : undefined;
        const ca = await createCertificateAuthority({
          name: flags.name,
          keyType: flags.keyType,
          days: flags.days,
          issuer,
        });
        // An intermediate's file carries the chain above it, so it can issue without its root.
        const written = [
          await files.write(files.caCertPath, ca.chainPem || ca.certificatePem, 'CA certificate'),
          await files.write(files.caKeyPath, ca.privateKeyPem, 'CA private key', true),
        ];
        report(written, ca.certificatePem, [
          `clients trust it with: mosquitto_sub --cafile ${issuer ? `${flags.issuerDir}/ca.crt` : files.caCertPath} ...`,
          `the broker asks for client certificates with: tls: { caFile: ${files.caCertPath}, clientCertificates: required }`,
        ]);
      },
    );

  issueFlags(
    certs
      .command('server')
      .description('issue a server certificate: <dir>/<name>.crt (with chain) and <dir>/<name>.key')
      .argument('<name>', 'common name, e.g. the broker host name')
      .option('--host <host>', 'DNS name or IP address for the SAN; repeatable (default: the name)', collect),
    397,
  ).action(async (name: string, flags: IssueFlags & { host?: string[] }) => {
    await issue(name, flags, { kind: 'server', hosts: flags.host ?? [name] }, (crt, key) => [
      `broker config: tls: { certFile: ${crt}, keyFile: ${key} }`,
    ]);
  });

  issueFlags(
    certs
      .command('client')
      .description('issue a client certificate: <dir>/<name>.crt and <dir>/<name>.key')
      .argument('<name>', 'common name, e.g. the device id')
      .option('--email <address>', 'e-mail address for the SAN; repeatable', collect)
      .option('--uri <uri>', 'URI for the SAN (e.g. spiffe://...); repeatable', collect),
    365,
  ).action(async (name: string, flags: IssueFlags & { email?: string[]; uri?: string[] }) => {
    await issue(name, flags, { kind: 'client', emails: flags.email, uris: flags.uri }, (crt, key) => [
      `mosquitto_pub --cert ${crt} --key ${key} ...   warden pub --cert ${crt} --key ${key} ...`,
    ]);
  });

  caFlags(
    certs
      .command('revoke')
      .description('revoke a certificate (its file or its hex serial) and write <dir>/crl.pem')
      .argument('<certificate>', 'certificate file, or serial number in hex'),
  )
    .option('--crl-days <n>', 'days until the CRL must be renewed', positive('days'), 30)
    .action(async (target: string, flags: CaFlags & { crlDays: number }) => {
      const files = new PkiFiles(flags, true);
      const ca = await files.loadCa();
      const serial = await serialOf(target, files, ca);
      const previous = await previousRevocations(files, ca);
      const already = previous.some((r) => r.serialNumber === serial);
      // Dated a minute back, as the CRL's thisUpdate is, so the entry is never newer than its list.
      const revokedAt = new Date(Date.now() - 60_000);
      const revoked = already ? previous : [...previous, { serialNumber: serial, revokedAt }];
      const written = await writeCrl(files, ca, revoked, flags.crlDays);
      process.stdout.write(
        `${already ? 'already revoked' : 'revoked'}: serial ${serial}\n${written}\n` +
          `CRL: ${revoked.length} revoked; broker config: tls: { crlFiles: [${files.crlPath}] } (re-read on SIGHUP); mosquitto: crlfile ${files.crlPath}\n`,
      );
    });

  caFlags(
    certs.command('crl').description('write <dir>/crl.pem again with a new validity (the same entries)'),
  )
    .option('--crl-days <n>', 'days until the CRL must be renewed', positive('days'), 30)
    .action(async (flags: CaFlags & { crlDays: number }) => {
      const files = new PkiFiles(flags, true);
      const ca = await files.loadCa();
      const revoked = await previousRevocations(files, ca);
      process.stdout.write(
        `${await writeCrl(files, ca, revoked, flags.crlDays)}\nCRL: ${revoked.length} revoked\n`,
      );
    });

  certs.addCommand(inspectCommand());
  return certs;
}

async function issue(
  name: string,
  flags: IssueFlags,
  what: { kind: 'server' | 'client'; hosts?: string[]; emails?: string[]; uris?: string[] },
  usage: (crt: string, key: string) => string[],
): Promise<void> {
  const files = new PkiFiles(flags, flags.force);
  if (flags.p12 && flags.passphraseEnv === undefined) throw new Error('--p12 needs --passphrase-env <var>');
  const passphrase = flags.p12 ? envSecret(flags.passphraseEnv) : undefined;
  const ca = await files.loadCa();
  const cert: IssuedCertificate = await issueCertificate(ca, {
    name,
    ...what,
    keyType: flags.keyType,
    days: flags.days,
  });
  const base = flags.out ?? name.replace(/[^A-Za-z0-9._-]/g, '_');
  const crt = files.path(`${base}.crt`);
  const key = files.path(`${base}.key`);
  const written = [
    await files.write(crt, cert.fullChainPem, 'certificate and chain'),
    await files.write(key, cert.privateKeyPem, 'private key', true),
  ];
  if (passphrase !== undefined) {
    const p12 = await createPkcs12({
      certificatePem: cert.fullChainPem,
      privateKeyPem: cert.privateKeyPem,
      passphrase,
    });
    written.push(await files.write(files.path(`${base}.p12`), p12, 'PKCS#12 key store', true));
  }
  report(written, cert.certificatePem, usage(crt, key));
}

function report(written: string[], certificatePem: string, hints: string[]): void {
  const s = describeCertificate(certificatePem);
  process.stdout.write(
    [
      ...written,
      `${s.subject}  serial ${s.serialNumber}`,
      `  issuer ${s.issuer}; ${s.keyType}${s.subjectAltNames.length ? `; SAN ${s.subjectAltNames.join(', ')}` : ''}`,
      `  valid ${s.notBefore.toISOString()} .. ${s.notAfter.toISOString()} (${s.daysLeft} days)`,
      ...hints,
      '',
    ].join('\n'),
  );
}

/** The serial to revoke: a certificate file's, which must come from this CA, or a hex serial. */
async function serialOf(target: string, files: PkiFiles, ca: CertificateAuthority): Promise<string> {
  if (/^(0x)?[0-9a-f:]+$/i.test(target) && !(await files.exists(target)))
    return normalizedSerial(target.replace(/^0x/i, ''));
  const cert = new X509Certificate(await files.read(target, 'certificate'));
  const caCert = new X509Certificate(ca.certificatePem);
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey))
    throw new Error(`${target} was not issued by ${ca.subject}: revoke it with its own CA`);
  return normalizedSerial(cert.serialNumber);
}

/** The entries of the CA's current CRL, which must be this CA's. */
async function previousRevocations(files: PkiFiles, ca: CertificateAuthority) {
  if (!(await files.exists(files.crlPath))) return [];
  const crl = readCrl(await files.read(files.crlPath, 'CRL'));
  if (crl.issuer !== normalizedName(ca.subject))
    throw new Error(`${files.crlPath} was issued by another CA (${crl.issuer})`);
  return [...crl.revocations];
}

async function writeCrl(
  files: PkiFiles,
  ca: CertificateAuthority,
  revoked: { serialNumber: string; revokedAt: Date }[],
  days: number,
): Promise<string> {
  const thisUpdate = new Date(Date.now() - 60_000);
  const pem = await createCrl(ca, revoked, {
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + days * 86_400_000),
  });
  return files.write(files.crlPath, pem, `CRL, next update in ${days} days`);
}
