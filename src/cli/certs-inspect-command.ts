// `warden certs inspect <file...>`: what a certificate, bundle, CRL, key file or PKCS#12 holds,
// as text or --json. Names keys, never prints them.

import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import {
  type CertificateSummary,
  type CrlSummary,
  inspectPkiFile,
  type PkiFileContents,
} from '../pki/index.js';
import { envSecret } from './env-secret.js';

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('show what a certificate, bundle, CRL, key or PKCS#12 file holds')
    .argument('<files...>', 'PEM, DER or PKCS#12 files')
    .option('--passphrase-env <var>', 'environment variable holding the PKCS#12 passphrase')
    .option('--json', 'print JSON')
    .action(async (paths: string[], flags: { passphraseEnv?: string; json?: boolean }) => {
      const passphrase = envSecret(flags.passphraseEnv);
      const results: { file: string; contents: PkiFileContents }[] = [];
      for (const file of paths) {
        let data: Buffer;
        try {
          data = await readFile(file);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
        }
        try {
          results.push({ file, contents: await inspectPkiFile(data, { passphrase }) });
        } catch (error) {
          const hint =
            passphrase === undefined && /PKCS#12/.test((error as Error).message)
              ? ' (a passphrase goes in --passphrase-env)'
              : '';
          throw new Error(`${file}: ${(error as Error).message}${hint}`);
        }
      }
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(results, jsonValue, 2)}\n`
          : results.map(({ file, contents }) => text(file, contents)).join('\n'),
      );
    });
}

/** Sets (a CRL's revoked serials) as arrays. */
function jsonValue(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value] : value;
}

function text(file: string, contents: PkiFileContents): string {
  const lines = [
    `${file}: ${contents.format.toUpperCase()}, ${contents.certificates.length} certificate(s)` +
      `${contents.crls.length ? `, ${contents.crls.length} CRL(s)` : ''}` +
      `${contents.privateKeys.length ? `, private key (${contents.privateKeys.join(', ')})` : ''}`,
  ];
  lines.push(...contents.certificates.flatMap(certificate));
  for (const crl of contents.crls) lines.push(...revocationList(crl));
  return `${lines.join('\n')}\n`;
}

function certificate(c: CertificateSummary, index: number): string[] {
  const state =
    c.daysLeft < 0 ? 'EXPIRED' : c.notBefore > new Date() ? 'NOT YET VALID' : `${c.daysLeft} days left`;
  return [
    `  [${index}] ${c.subject}${c.isCa ? '  (CA)' : ''}`,
    `      issuer  ${c.issuer}`,
    `      serial  ${c.serialNumber}`,
    `      key     ${c.keyType}`,
    ...(c.subjectAltNames.length ? [`      SAN     ${c.subjectAltNames.join(', ')}`] : []),
    `      valid   ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()} (${state})`,
    `      sha256  ${c.fingerprintSha256}`,
  ];
}

function revocationList(crl: CrlSummary): string[] {
  const overdue = crl.nextUpdate !== undefined && crl.nextUpdate < new Date() ? '  OVERDUE' : '';
  return [
    `  CRL by ${crl.issuer}`,
    `      updated ${crl.thisUpdate.toISOString()}, next ${crl.nextUpdate?.toISOString() ?? '-'}${overdue}`,
    `      revoked ${crl.revocations.length}${crl.revocations.map((r) => `\n        ${r.serialNumber} at ${r.revokedAt.toISOString()}`).join('')}`,
  ];
}
