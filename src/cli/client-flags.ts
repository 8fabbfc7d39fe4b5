// The connection flags warden pub, sub and diagnose share, spelled as mosquitto_pub/sub spell
// them (-h -p -i -u -P -k -V --cafile --capath --cert --key --insecure --tls-version
// --tls-use-os-certs --psk --psk-identity -L), turned into a URL and client options.

import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ConnectOptions, scramSha256 } from '../client/index.js';
import { envSecret } from './env-secret.js';

export interface ClientFlags {
  host: string;
  port?: number;
  url?: string;
  id?: string;
  username?: string;
  pw?: string;
  scram?: boolean;
  keepalive: number;
  protocolVersion: 4 | 5;
  cafile?: string;
  capath?: string;
  cert?: string;
  key?: string;
  trustStore?: string;
  crlfile?: string[];
  keystore?: string;
  storePassphraseEnv?: string;
  insecure?: boolean;
  skipChainCheck?: boolean;
  pin?: string[];
  tlsVersion?: 'TLSv1.2' | 'TLSv1.3';
  tlsUseOsCerts?: boolean;
  psk?: string;
  pskIdentity?: string;
  servername?: string;
  debug?: boolean;
}

/** A flag's integer in [min, max]. */
export const integer = (what: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`"${value}" is not a ${what}`);
  return n;
};

export type QoSLevel = 0 | 1 | 2;

/** -q as pub and sub take it. */
export const qosFlag = (value: string): QoSLevel => {
  if (value !== '0' && value !== '1' && value !== '2')
    throw new InvalidArgumentError(`"${value}" is not a QoS (0, 1, 2)`);
  return Number(value) as QoSLevel;
};

/** Adds the shared flags; -h is the host, as in mosquitto_pub, so help is --help only. */
export function addClientFlags(command: Command): Command {
  return command
    .helpOption('--help', 'display help')
    .option('-h, --host <host>', 'broker host', 'localhost')
    .option('-p, --port <port>', 'port (default 1883, or 8883 with TLS options)', integer('port', 1, 65_535))
    .option('-L, --url <url>', 'mqtt://host:port or mqtts://host:port instead of -h/-p')
    .option('-i, --id <id>', 'client id')
    .option('-u, --username <user>', 'user name')
    .option('-P, --pw <password>', 'password')
    .option('--scram', 'authenticate with SCRAM-SHA-256 (MQTT 5): -u/-P never cross the wire')
    .option('-k, --keepalive <seconds>', 'keep alive', integer('keep alive', 0, 65_535), 60)
    .addOption(
      new Option('-V, --protocol-version <version>', 'mqttv5 | mqttv311')
        .argParser((v: string) => {
          if (['5', 'mqttv5'].includes(v)) return 5;
          if (['311', 'mqttv311', '4'].includes(v)) return 4;
          throw new InvalidArgumentError(`"${v}" is not mqttv5 or mqttv311`);
        })
        .default(5),
    )
    .option('--cafile <file>', 'CA certificates (PEM) to trust the broker with; turns TLS on')
    .option('--capath <dir>', 'directory of CA certificates (PEM); turns TLS on')
    .option('--cert <file>', 'client certificate (PEM)')
    .option('--key <file>', 'client key (PEM)')
    .option(
      '--crlfile <file>',
      "CRL (PEM) to check the broker's chain against; repeatable",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--trust-store <file>', 'PKCS#12 trust store of CA certificates; turns TLS on')
    .option('--keystore <file>', 'client certificate and key as PKCS#12, instead of --cert/--key')
    .option('--store-passphrase-env <var>', 'environment variable holding the PKCS#12 passphrase')
    .option('--insecure', "don't check the broker's host name against its certificate (warned)")
    .option('--skip-chain-check', "don't verify the broker's certificate chain (warned)")
    .option(
      '--pin <sha256>',
      'SPKI SHA-256 pin (base64 or hex); repeatable',
      (v: string, all: string[] = []) => [...all, v],
    )
    .addOption(
      new Option('--tls-version <version>', 'tlsv1.2 | tlsv1.3: the minimum').argParser((v: string) => {
        if (v === 'tlsv1.2') return 'TLSv1.2';
        if (v === 'tlsv1.3') return 'TLSv1.3';
        throw new InvalidArgumentError(`"${v}" is not tlsv1.2 or tlsv1.3`);
      }),
    )
    .option('--tls-use-os-certs', "trust the operating system's CA store (with --cafile: both)")
    .option('--psk <hexkey>', 'TLS-PSK key, hex')
    .option('--psk-identity <identity>', 'TLS-PSK identity')
    .option('--servername <name>', 'SNI name and the name checked in the certificate')
    .option('-d, --debug', 'print each connection stage with its time');
}

/** The broker URL the flags name. */
export function brokerUrl(flags: ClientFlags): string {
  if (flags.url !== undefined) return flags.url;
  const tls =
    flags.cafile !== undefined ||
    flags.capath !== undefined ||
    flags.cert !== undefined ||
    flags.trustStore !== undefined ||
    flags.keystore !== undefined ||
    flags.psk !== undefined ||
    flags.tlsUseOsCerts === true;
  const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
  return `${tls ? 'mqtts' : 'mqtt'}://${host}:${flags.port ?? (tls ? 8883 : 1883)}`;
}

export function connectOptions(flags: ClientFlags): ConnectOptions {
  if ((flags.psk === undefined) !== (flags.pskIdentity === undefined))
    throw new InvalidArgumentError('--psk and --psk-identity go together');
  if ((flags.cert === undefined) !== (flags.key === undefined))
    throw new InvalidArgumentError('--cert and --key go together');
  if (flags.keystore !== undefined && flags.cert !== undefined)
    throw new InvalidArgumentError('--keystore or --cert/--key, not both');
  const passphrase = envSecret(flags.storePassphraseEnv);
  if (flags.scram && (flags.username === undefined || flags.pw === undefined))
    throw new InvalidArgumentError('--scram needs -u and -P');
  return {
    clientId: flags.id,
    username: flags.scram ? undefined : flags.username,
    password: flags.scram ? undefined : flags.pw,
    authentication:
      flags.scram && flags.username !== undefined && flags.pw !== undefined
        ? scramSha256(flags.username, flags.pw)
        : undefined,
    keepAlive: flags.keepalive,
    protocolVersion: flags.protocolVersion,
    caFile: flags.cafile,
    caPath: flags.capath,
    systemStore: flags.tlsUseOsCerts,
    crlFiles: flags.crlfile,
    trustStore: flags.trustStore !== undefined ? { pkcs12: flags.trustStore, passphrase } : undefined,
    certificate:
      flags.cert !== undefined && flags.key !== undefined
        ? { cert: readFileSync(flags.cert), key: readFileSync(flags.key) }
        : flags.keystore !== undefined
          ? { pfx: readFileSync(flags.keystore), passphrase }
          : undefined,
    psk:
      flags.psk !== undefined && flags.pskIdentity !== undefined
        ? { identity: flags.pskIdentity, key: flags.psk }
        : undefined,
    pins: flags.pin,
    skipHostnameCheck: flags.insecure,
    skipChainCheck: flags.skipChainCheck,
    minVersion: flags.tlsVersion,
    servername: flags.servername,
    reconnect: false,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
    onStage: flags.debug
      ? (event) =>
          process.stderr.write(
            `[${event.elapsedMs} ms] ${event.stage}${event.detail ? `: ${event.detail}` : ''}\n`,
          )
      : undefined,
  };
}
