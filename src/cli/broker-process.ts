// What `warden broker` does as a Unix daemon, as mosquitto does: the pid file written at start
// and removed at exit, and, started as root, the switch to an unprivileged user once every
// listener is bound (ports below 1024 need root; nothing after them does).

import { readFileSync, rmSync, writeFileSync } from 'node:fs';

export class BrokerProcessError extends Error {}

export function writePidFile(path: string): void {
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (error) {
    throw new BrokerProcessError(`pid_file ${path}: cannot be written: ${(error as Error).message}`);
  }
}

/** At exit; the file may already be out of reach after the switch of user, as with mosquitto. */
export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}

/** The user's uid and primary gid, from /etc/passwd. */
function lookUp(user: string): { uid: number; gid: number } {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === user) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new BrokerProcessError(`user ${user}: no such user in /etc/passwd`);
}

/** Runs on as `user` and its groups when started as root; does nothing otherwise (as mosquitto). */
export function dropPrivileges(user: string): boolean {
  if (process.getuid?.() !== 0 || user === 'root') return false;
  const { uid, gid } = lookUp(user);
  process.setgroups!([gid]);
  process.setgid!(gid);
  process.setuid!(uid);
  return true;
}
