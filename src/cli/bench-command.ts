// `warden bench conn|pub|sub`: a load generator for a broker, with the connection flags of
// `warden pub`; a progress line each second on a terminal, then a summary with latency
// percentiles (or, with --json, one JSON object on stdout for scripts).

import { Command, InvalidArgumentError, Option } from 'commander';
import { type BenchMode, type BenchResult, BenchRun } from './bench-load.js';
import {
  addClientFlags,
  brokerUrl,
  type ClientFlags,
  connectOptions,
  integer,
  type QoSLevel,
  qosFlag,
} from './client-flags.js';

interface BenchFlags extends ClientFlags {
  clients: number;
  rate?: number;
  qos: QoSLevel;
  size: number;
  topic: string;
  duration: number;
  json?: boolean;
}

const count = (what: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`"${value}" is not a ${what}`);
  return n;
};

export function benchCommand(): Command {
  const command = new Command('bench').description(
    'load a broker: conn opens and holds clients, pub publishes from each, sub counts what arrives',
  );
  addClientFlags(command)
    .addArgument(
      command.createArgument('<mode>', 'conn | pub | sub').choices(['conn', 'pub', 'sub'] as const),
    )
    .option('-c, --clients <n>', 'clients', integer('number of clients', 1, 1_000_000), 10)
    .option(
      '-r, --rate <n>',
      'pub: messages per second per client (default 1); conn: connections per second (default all at once)',
      count('rate', 0),
    )
    .option('-q, --qos <qos>', 'quality of service', qosFlag, 0)
    .option(
      '-s, --size <bytes>',
      'pub: payload bytes (12 or more carry the send time for sub)',
      integer('size', 0, 268_435_455),
      64,
    )
    .option('-t, --topic <topic>', 'topic (pub) or filter (sub); %i is the client index', 'warden/bench/%i')
    .addOption(
      new Option('--duration <seconds>', 'seconds of load once all are connected')
        .argParser(count('duration', 0))
        .default(10),
    )
    .option('--json', 'print the summary as JSON')
    .action(async (mode: BenchMode, flags: BenchFlags) => {
      let options: ReturnType<typeof connectOptions>;
      try {
        options = connectOptions(flags);
      } catch (error) {
        return command.error((error as Error).message);
      }
      const run = new BenchRun({
        mode,
        url: brokerUrl(flags),
        options,
        clientIdPrefix: flags.id ?? `warden-bench-${process.pid}`,
        clients: flags.clients,
        rate: flags.rate ?? (mode === 'pub' ? 1 : 0),
        qos: flags.qos,
        size: flags.size,
        topic: flags.topic,
        durationMs: flags.duration * 1000,
        onLoadStart: (connected) =>
          process.stderr.write(
            `warden bench ${mode}: ${connected} of ${flags.clients} clients connected${mode === 'sub' ? ' and subscribed' : ''}, ${flags.duration} s of load\n`,
          ),
      });
      const stop = () => run.stop();
      process.once('SIGINT', stop);
      const progress =
        process.stderr.isTTY && !flags.json ? showProgress(mode, flags.clients, run) : undefined;
      const result = await run.run();
      progress?.();
      process.off('SIGINT', stop);
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : summary(result));
      process.exitCode = result.connected === 0 ? 1 : 0;
    });
  return command;
}

/** Rewrites one line on stderr each second; returns what clears it. */
function showProgress(mode: BenchMode, clients: number, run: BenchRun): () => void {
  let last = { ...run.counters };
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const c = run.counters;
    const now = performance.now();
    const moved =
      mode === 'pub'
        ? c.sent - last.sent
        : mode === 'sub'
          ? c.received - last.received
          : c.connected - last.connected;
    const rate = (moved * 1000) / (now - lastAt);
    last = { ...c };
    lastAt = now;
    process.stderr.write(
      `\r\u001b[K${mode}: connected ${c.connected}/${clients}, sent ${c.sent}, received ${c.received}, ${rate.toFixed(0)}/s, errors ${c.errors}`,
    );
  }, 1000);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\u001b[K');
  };
}

function summary(r: BenchResult): string {
  const what = r.mode === 'conn' ? 'connections' : r.mode === 'pub' ? 'sent' : 'received';
  const lines = [
    `warden bench ${r.mode}: ${r.clients} clients, ${r.seconds.toFixed(1)} s`,
    `  connected ${r.connected}, disconnected ${r.disconnected}, sent ${r.sent}, received ${r.received}, errors ${r.errors}`,
    `  ${what} per second: ${r.rate.toFixed(1)}`,
  ];
  const l = r.latency;
  const of =
    r.mode === 'conn' ? 'to CONNACK' : r.mode === 'pub' ? 'to acknowledgement' : 'publish to arrival';
  if (l !== undefined)
    lines.push(
      `  latency ${of}, ms (${l.samples} samples): p50 ${l.p50.toFixed(2)}, p90 ${l.p90.toFixed(2)}, p99 ${l.p99.toFixed(2)}, max ${l.max.toFixed(2)}`,
    );
  if (r.firstError !== undefined) lines.push(`  first error: ${r.firstError}`);
  return `${lines.join('\n')}\n`;
}
