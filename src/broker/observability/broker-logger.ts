// The broker's pino logger, writing where the configuration says (Mosquitto's log_dest): standard
// output by default, or any of stdout, stderr and files at once. A file that cannot be opened is
// a configuration error naming it, found at start rather than at the first line logged. A
// terminal gets readable lines (pino-pretty); a pipe or a file gets JSON, one event per line.

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import pretty from 'pino-pretty';
import { ConfigError } from '../config/config-error.js';
import type { BrokerConfig } from '../config/config-schema.js';

/** Standard output or error: pretty on a terminal, JSON otherwise. */
function standardStream(fd: 1 | 2): pino.DestinationStream {
  const terminal = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  if (!terminal) return pino.destination(fd);
  return pretty({
    destination: fd,
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
  });
}

export function brokerLogger(config: Pick<BrokerConfig, 'logLevel' | 'logDest'>): pino.Logger {
  const level = config.logLevel;
  if (config.logDest === undefined) return pino({ level }, standardStream(1));
  const streams = config.logDest.map((dest) => {
    if (dest === 'stdout' || dest === 'stderr')
      return { level, stream: standardStream(dest === 'stdout' ? 1 : 2) };
    try {
      mkdirSync(dirname(dest.file), { recursive: true });
      closeSync(openSync(dest.file, 'a'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(error);
      throw new ConfigError([`log file ${dest.file}: cannot be written: ${why}`]);
    }
    return { level, stream: pino.destination({ dest: dest.file, append: true, sync: false }) };
  });
  return pino({ level }, pino.multistream(streams));
}
