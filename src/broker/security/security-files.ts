// The password and ACL files the listeners use, each loaded once however many listeners name it,
// watched for changes and reloaded on SIGHUP. A reload that fails keeps the old contents and
// says why; a broker never runs with half a file.

import { watchFiles } from '../config/watch-files.js';
import type { Logger } from '../core/ports.js';
import { AclFile } from './acl-file.js';
import { PasswordFile } from './password-file.js';

export interface SecurityReload {
  readonly file: string;
  readonly ok: boolean;
  readonly error?: string;
}

export class SecurityFiles {
  readonly #passwords = new Map<string, PasswordFile>();
  readonly #acls = new Map<string, AclFile>();
  #unwatch: () => void = () => undefined;

  constructor(private readonly logger: Logger) {}

  async passwordFile(path: string): Promise<PasswordFile> {
    let file = this.#passwords.get(path);
    if (file === undefined) {
      file = await PasswordFile.load(path);
      this.#passwords.set(path, file);
      this.logger.info({ file: path, users: file.size }, 'password file loaded');
    }
    return file;
  }

  async aclFile(path: string): Promise<AclFile> {
    let file = this.#acls.get(path);
    if (file === undefined) {
      file = await AclFile.load(path);
      this.#acls.set(path, file);
      this.logger.info({ file: path }, 'ACL file loaded');
    }
    return file;
  }

  async reload(): Promise<SecurityReload[]> {
    const files = [...this.#passwords.values(), ...this.#acls.values()];
    return Promise.all(
      files.map(async (file) => {
        try {
          await file.reload();
          this.logger.info({ file: file.path }, 'security file reloaded');
          return { file: file.path, ok: true };
        } catch (error) {
          const message = (error as Error).message;
          this.logger.error(
            { file: file.path, error: message },
            'security file reload failed: the old contents stay',
          );
          return { file: file.path, ok: false, error: message };
        }
      }),
    );
  }

  watch(): void {
    const watching = watchFiles(
      [...this.#passwords.keys(), ...this.#acls.keys()],
      [],
      () => void this.reload(),
    );
    this.#unwatch = watching.close;
    for (const file of watching.unwatched)
      this.logger.warn({ file }, 'cannot watch a security file; reload with SIGHUP');
  }

  close(): void {
    this.#unwatch();
  }
}
