// How pub and sub end on a failed connection: the stage and the reason on stderr, exit code 1.

import { ClientError } from '../client/index.js';

export function reportClientError(error: unknown): never {
  if (error instanceof ClientError) {
    process.stderr.write(`Error: ${error.message} (stage ${error.stage}, ${error.code})\n`);
  } else {
    process.stderr.write(`Error: ${(error as Error).message ?? String(error)}\n`);
  }
  process.exit(1);
}
