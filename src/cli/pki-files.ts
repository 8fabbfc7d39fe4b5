// The files of `warden certs`: where the CA lives, reading them with errors that name the file,
// and writing without clobbering (keys and key stores readable by the owner only).

import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type CertificateAuthority, loadCertificateAuthority } from '../pki/index.js';
import { envSecret } from './env-secret.js';

export interface CaFlags {
  dir: string;
  caCert?: string;
  caKey?: string;
  caKeyPassphraseEnv?: string;
}

export class PkiFiles {
  readonly caCertPath: string;
  readonly caKeyPath: string;
  readonly crlPath: string;

  constructor(
    private readonly flags: CaFlags,
    private readonly overwrite = false,
  ) {
    this.caCertPath = flags.caCert ?? join(flags.dir, 'ca.crt');
    this.caKeyPath = flags.caKey ?? join(flags.dir, 'ca.key');
    this.crlPath = join(flags.dir, 'crl.pem');
  }

  path(name: string): string {
    return join(this.flags.dir, name);
  }

  async exists(path: string): Promise<boolean> {
    return access(path).then(
      () => true,
      () => false,
    );
  }

  async read(path: string, what: string): Promise<string> {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
  }

  async loadCa(): Promise<CertificateAuthority> {
    if (!(await this.exists(this.caCertPath)))
      throw new Error(
        `no CA at ${this.caCertPath}: create one with \`warden certs ca --dir ${this.flags.dir}\``,
      );
    const passphrase = envSecret(this.flags.caKeyPassphraseEnv);
    try {
      return await loadCertificateAuthority(
        await this.read(this.caCertPath, 'CA certificate'),
        await this.read(this.caKeyPath, 'CA key'),
        passphrase,
      );
    } catch (error) {
      throw new Error(`CA ${this.caCertPath}: ${(error as Error).message}`);
    }
  }

  /** Writes a new file (refusing to replace one unless told); returns the line that reports it. */
  async write(path: string, data: string | Buffer, what: string, secret = false): Promise<string> {
    if (!this.overwrite && (await this.exists(path)))
      throw new Error(`${path} exists: remove it or pass --force`);
    await mkdir(dirname(path), { recursive: true });
    const mode = secret ? 0o600 : 0o644;
    await writeFile(path, data, { mode });
    await chmod(path, mode); // an overwritten file keeps its old mode otherwise
    return `wrote ${path} (${what}${secret ? ', mode 0600' : ''})`;
  }
}
