// Mosquitto's password file, "user:hash" per line, as `warden passwd` and mosquitto_passwd write
// it. Parsed strictly (a bad line names its number, never its hash); checked in constant time, an
// unknown user costing as much as a known one so timing does not tell which users exist.
// A password that verified once is remembered as a keyed MAC (never the password), so a fleet
// reconnecting at once costs one slow hash per device, not one per reconnect.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type HashAlgorithm,
  hashPassword,
  parseHash,
  type ScramSecret,
  scramSecretOf,
  verifyPassword,
} from './password-hash.js';

export class PasswordFileError extends Error {}

/** One "user:value" line of a password file: `where` is "file:line" for errors. */
export interface PasswordLine {
  readonly user: string;
  /** A hash, or plain text in a file `warden passwd -U` has yet to hash. */
  readonly value: string;
  readonly where: string;
}

/** The file's "user:value" lines in order, comments and blank lines skipped; a line without a user is an error. */
export function passwordFileLines(text: string, file = 'password file'): PasswordLine[] {
  const lines: PasswordLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const where = `${file}:${index + 1}`;
    if (colon <= 0) throw new PasswordFileError(`${where}: expected "user:hash"`);
    lines.push({ user: line.slice(0, colon), value: line.slice(colon + 1), where });
  });
  return lines;
}

/** user -> stored hash, in file order: every value a known hash, every user once. */
export function parsePasswordFile(text: string, file = 'password file'): Map<string, string> {
  const entries = new Map<string, string>();
  for (const { user, value, where } of passwordFileLines(text, file)) {
    const parsed = parseHash(value);
    if (!parsed.ok) throw new PasswordFileError(`${where}: user ${user}: ${parsed.reason}`);
    if (entries.has(user)) throw new PasswordFileError(`${where}: user ${user} appears twice`);
    entries.set(user, value);
  }
  return entries;
}

export type PasswordCheck = 'ok' | 'wrong-password' | 'unknown-user';

/** Users whose verified password is remembered; beyond it the memory starts over. */
const REMEMBERED_MAX = 100_000;

export class PasswordFile {
  #entries: Map<string, string>;
  /** user -> MAC of the password that verified against `hash` (a changed hash forgets it). */
  readonly #verified = new Map<string, { readonly hash: string; readonly mac: Buffer }>();
  /** A key of this process only: the MACs are worthless outside it. */
  readonly #macKey = randomBytes(32);
  /** Checked against when the user is unknown, so the answer takes as long: one per algorithm. */
  static readonly #decoys = new Map<HashAlgorithm, Promise<string>>();

  #mainAlgorithm: HashAlgorithm;

  private constructor(
    readonly path: string,
    entries: Map<string, string>,
  ) {
    this.#entries = entries;
    this.#mainAlgorithm = mainAlgorithm(entries);
  }

  static async load(path: string): Promise<PasswordFile> {
    return new PasswordFile(path, await PasswordFile.#read(path));
  }

  static async #read(path: string): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new PasswordFileError(
        `password file ${path}: ${code === 'ENOENT' ? 'no such file' : String(error)}`,
      );
    }
    return parsePasswordFile(text, `password file ${path}`);
  }

  /** Reads the file again; on an error the old entries stay and the error is thrown. */
  async reload(): Promise<number> {
    this.#entries = await PasswordFile.#read(this.path);
    this.#mainAlgorithm = mainAlgorithm(this.#entries);
    return this.#entries.size;
  }

  get size(): number {
    return this.#entries.size;
  }

  async check(username: string, password: Buffer | undefined): Promise<PasswordCheck> {
    const stored = this.#entries.get(username);
    if (stored === undefined) {
      await verifyPassword(await this.#decoy(), password ?? Buffer.alloc(0));
      return 'unknown-user';
    }
    if (password === undefined) return 'wrong-password';
    const mac = createHmac('sha256', this.#macKey).update(password).digest();
    const known = this.#verified.get(username);
    if (known !== undefined && known.hash === stored && timingSafeEqual(known.mac, mac)) return 'ok';
    if (!(await verifyPassword(stored, password))) return 'wrong-password';
    if (this.#verified.size >= REMEMBERED_MAX) this.#verified.clear();
    this.#verified.set(username, { hash: stored, mac });
    return 'ok';
  }

  /** A hash of the algorithm the file mostly uses, so an unknown user costs what a known one does. */
  #decoy(): Promise<string> {
    const algorithm = this.#mainAlgorithm;
    let decoy = PasswordFile.#decoys.get(algorithm);
    if (decoy === undefined) {
      decoy = hashPassword(randomBytes(16).toString('hex'), algorithm);
      PasswordFile.#decoys.set(algorithm, decoy);
    }
    return decoy;
  }

  /** The user's SCRAM-SHA-256 secrets, when the entry is a SCRAM one. */
  scram(username: string): ScramSecret | undefined {
    const stored = this.#entries.get(username);
    return stored === undefined ? undefined : scramSecretOf(stored);
  }
}

/** The hash algorithm most entries use (scrypt for an empty file). */
function mainAlgorithm(entries: Map<string, string>): HashAlgorithm {
  const counts = new Map<HashAlgorithm, number>();
  for (const hash of entries.values()) {
    const parsed = parseHash(hash);
    if (parsed.ok) counts.set(parsed.algorithm, (counts.get(parsed.algorithm) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'scrypt';
}
