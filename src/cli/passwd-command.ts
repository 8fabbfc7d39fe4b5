// `warden passwd`: manages a password file as mosquitto_passwd does, with its flags (-c create,
// -D delete, -b batch, -U hash a plain text file, -H algorithm). Writes salted scrypt by default;
// keeps the hashes of users it does not touch, mosquitto_passwd's among them. The file is
// replaced atomically and readable by its owner only.

import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { type HashAlgorithm, hashPassword, parseHash, passwordFileLines } from '../broker/index.js';

interface PasswdFlags {
  create?: boolean;
  delete?: boolean;
  batch?: boolean;
  update?: boolean;
  hash: HashAlgorithm;
}

export function passwdCommand(): Command {
  return new Command('passwd')
    .description(
      'manage a password file (mosquitto_passwd flags; scrypt hashes; reads mosquitto_passwd files)',
    )
    .argument('<file>', 'the password file')
    .argument('[username]', 'the user to add, update or delete')
    .argument('[password]', 'the password, with -b only (prompted for otherwise, or read from stdin)')
    .option('-c, --create', 'create the file, replacing an existing one')
    .option('-D, --delete', 'delete the user')
    .option('-b, --batch', 'take the password from the command line')
    .option('-U, --update', 'hash every plain text password of the file')
    .addOption(
      new Option('-H, --hash <algorithm>', 'hash for new passwords')
        .choices(['scrypt', 'scram-sha-256', 'sha512-pbkdf2', 'sha512'])
        .default('scrypt'),
    )
    .action(
      async (
        file: string,
        username: string | undefined,
        password: string | undefined,
        flags: PasswdFlags,
      ) => {
        if (flags.update) {
          const count = await hashPlainText(file, flags.hash);
          process.stderr.write(`${file}: ${count} password(s) hashed\n`);
          return;
        }
        if (username === undefined)
          throw new Error('a user name is needed (warden passwd <file> <username>)');
        if (username === '' || /[:\r\n\0]/.test(username))
          throw new Error(`user name "${username}" may not hold ":" or line breaks`);
        if (flags.create && flags.delete) throw new Error('-c and -D do not go together');
        if ((password !== undefined) !== Boolean(flags.batch))
          throw new Error(
            flags.batch
              ? '-b needs the password after the user name'
              : 'a password on the command line needs -b',
          );
        const entries = flags.create ? new Map<string, string>() : await readEntries(file);
        if (flags.delete) {
          if (!entries.delete(username)) throw new Error(`${file}: no user ${username}`);
        } else {
          const secret = password ?? (await askPassword());
          if (secret === '') throw new Error('empty password');
          entries.set(username, await hashPassword(secret, flags.hash));
        }
        await writeEntries(file, entries);
      },
    );
}

/** user -> hash or plain text, as the file holds them; a missing file is an empty one. */
async function readEntries(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`${file}: no such file (create it with -c)`);
    throw error;
  }
  // Plain text values are kept (for -U); a user written twice keeps its last line.
  return new Map(passwordFileLines(text, file).map((line) => [line.user, line.value]));
}

async function writeEntries(file: string, entries: Map<string, string>): Promise<void> {
  const text = [...entries].map(([user, hash]) => `${user}:${hash}\n`).join('');
  const mode = await stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o600,
  );
  // Written beside and renamed over: a broker reading it never sees half a file.
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, file);
}

async function hashPlainText(file: string, algorithm: HashAlgorithm): Promise<number> {
  const entries = await readEntries(file);
  let count = 0;
  for (const [user, value] of entries) {
    if (parseHash(value).ok) continue;
    entries.set(user, await hashPassword(value, algorithm));
    count++;
  }
  await writeEntries(file, entries);
  return count;
}

/** From a terminal: asked twice, not echoed. Piped: the first line of stdin. */
async function askPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) {
      lines.close();
      return line;
    }
    throw new Error('no password on stdin');
  }
  const first = await prompt('Password: ');
  const second = await prompt('Reenter password: ');
  if (first !== second) throw new Error('the passwords do not match');
  return first;
}

function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}
