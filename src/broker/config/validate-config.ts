// Validates a configuration against the schema, fills in defaults and freezes it. Each problem
// is named by key path (listeners[0].port), and by file:line when the reader knows the line.

import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import { type BrokerConfig, brokerConfigSchema } from './config-schema.js';

export interface ConfigSource {
  /** The file the configuration came from, for messages. */
  readonly file?: string;
  /** "file:line" that set a key path, when the format has lines (mosquitto.conf and its includes). */
  locate?(path: string): string | undefined;
}

export function validateConfig(input: unknown, source: ConfigSource = {}): BrokerConfig {
  const result = brokerConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => describe(issue, source)));
  return deepFreeze(result.data);
}

/** "listeners[0].port" from ['listeners', 0, 'port']. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

function describe(issue: z.core.$ZodIssue, source: ConfigSource): string {
  const path = keyPath(issue.path);
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
      : issue.message;
  const where = [source.locate?.(path) ?? source.file, path || undefined].filter(Boolean).join(': ');
  return where ? `${where}: ${message}` : message;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
