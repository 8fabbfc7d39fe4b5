// Reads a configuration file: YAML (.yaml, .yml) or JSON (.json) in our own schema, anything
// else as a mosquitto.conf. Every failure is a ConfigError naming the file.

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from './config-error.js';
import type { BrokerConfig } from './config-schema.js';
import { readMosquittoConf } from './mosquitto-conf.js';
import { validateConfig } from './validate-config.js';

export async function loadConfigFile(file: string): Promise<BrokerConfig> {
  return (await readConfigFile(file)).config;
}

/**
 * The configuration and where each of its settings came from ("file:line", for a
 * mosquitto.conf and what it includes): what `warden broker --test-config` prints.
 */
export async function readConfigFile(
  file: string,
): Promise<{ config: BrokerConfig; origins: ReadonlyMap<string, string> }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new ConfigError([`${file}: cannot read the configuration file: ${why}`]);
  }
  const ext = extname(file).toLowerCase();
  const none = new Map<string, string>();
  if (ext === '.json') return { config: validateConfig(parseJson(text, file), { file }), origins: none };
  if (ext === '.yaml' || ext === '.yml')
    return { config: validateConfig(parseYamlText(text, file), { file }), origins: none };
  const { input, source, origins } = readMosquittoConf(text, file);
  return { config: validateConfig(input, source), origins };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON: ${(error as Error).message}`]);
  }
}

function parseYamlText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const line = error.linePos?.[0].line;
      throw new ConfigError([
        `${file}${line ? `:${line}` : ''}: not valid YAML: ${error.message.split('\n')[0]}`,
      ]);
    }
    throw error;
  }
}
