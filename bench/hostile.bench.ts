// bench:hostile (issue 17): what one abusive client does to everyone else. For each case, warden
// and then Debian's mosquitto serve 200 well-behaved clients (QoS 1, 2,000 msg/s in all, every
// delivery's latency measured): first undisturbed, then while the case's attacker runs in its own
// process. Reported per case and broker: the well-behaved clients' p99 latency undisturbed and
// under attack and their ratio, their disconnections, deliveries missing, the broker's RSS
// (undisturbed, peak under attack), whether it stayed up, and what the attacker managed.
// The broker is pinned to core 0; the generator and the attacker to core 1 (npm run bench:hostile),
// the attacker at the lowest priority (nice 19): it takes all the CPU the generator leaves, but
// never delays the generator's own sending and timing, which would be counted against the broker.
// One run of a case swings 3-10x with when a garbage collection or a burst lands in its window, so
// each case runs --repeats times, the brokers alternating, and the table shows the run with the
// median ratio and the range of the ratios.
// Usage: npm run bench:hostile [-- --seconds 10 --repeats 3 --cases slowloris,fuzz --only warden|mosquitto]

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki } from '../test/fixtures/test-pki.js';
import { arg, freePort, rssBytes, sleep, startPinned, stopProcess } from './bench-process.js';
import { LoadClient } from './broker-load.js';
import { CASES, type CaseName, type Target } from './hostile-attacks.js';
import { startSteadyLoad } from './steady-load.js';

const SECONDS = Number(arg('seconds', '10'));
const ONLY = arg('only', '');
const CHOSEN = arg('cases', CASES.join(',')).split(',') as CaseName[];
const REPEATS = Number(arg('repeats', '3'));
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-hostile-'));
chmodSync(dir, 0o755);

const pki = await createTestPki();
/** mosquitto drops to its own user: world-readable copies. */
const readable = (name: string, from: string) => {
  const to = join(dir, name);
  copyFileSync(from, to);
  chmodSync(to, 0o644);
  return to;
};
const files = {
  ca: readable('ca.pem', pki.caFile),
  cert: readable('server.crt', pki.servers.valid.cert),
  key: readable('server.key', pki.servers.valid.key),
};

type Name = 'warden' | 'mosquitto';

/** The same listeners for both: plain, TLS, and TLS with client certificates required. */
function configure(
  name: Name,
  ports: { plain: number; tls: number; mtls: number },
  maxPacket: number,
): string[] {
  if (name === 'mosquitto') {
    const file = join(dir, 'mosquitto.conf');
    writeFileSync(
      file,
      [
        'per_listener_settings false',
        'allow_anonymous true',
        'log_type error',
        'set_tcp_nodelay true',
        ...(maxPacket ? [`max_packet_size ${maxPacket}`] : []),
        `listener ${ports.plain} 127.0.0.1`,
        `listener ${ports.tls} 127.0.0.1`,
        `certfile ${files.cert}`,
        `keyfile ${files.key}`,
        `listener ${ports.mtls} 127.0.0.1`,
        `certfile ${files.cert}`,
        `keyfile ${files.key}`,
        `cafile ${files.ca}`,
        'require_certificate true',
        '',
      ].join('\n'),
    );
    return ['mosquitto', '-c', file];
  }
  // warden on its own schema and defaults (a mosquitto.conf would switch maxPendingConnects off).
  const file = join(dir, 'warden.yaml');
  const tls = `{ certFile: ${files.cert}, keyFile: ${files.key} }`;
  writeFileSync(
    file,
    [
      'listeners:',
      `  - { host: 127.0.0.1, port: ${ports.plain} }`,
      `  - { host: 127.0.0.1, port: ${ports.tls}, tls: ${tls} }`,
      `  - { host: 127.0.0.1, port: ${ports.mtls}, tls: { certFile: ${files.cert}, keyFile: ${files.key}, caFile: ${files.ca}, clientCertificates: required } }`,
      'allowAnonymous: true',
      'persistence: { enabled: false }',
      'sysInterval: 0',
      'logLevel: error',
      `maxPacketSize: ${maxPacket}`,
      '',
    ].join('\n'),
  );
  const profile = process.env.WARDEN_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.WARDEN_PROF}`] : [];
  const extra = process.env.WARDEN_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return ['node', ...profile, ...extra, 'dist/cli/main.js', 'broker', '-c', file];
}

const p99 = (sorted: number[]) => sorted[Math.floor(sorted.length * 0.99)] ?? Number.NaN;

interface Row {
  readonly case: CaseName;
  readonly broker: Name;
  readonly baseP99: number;
  readonly attackP99: number;
  readonly disconnects: number;
  readonly missing: number;
  readonly baseRssMb: number;
  readonly peakRssMb: number;
  readonly up: boolean;
  readonly attacker: Record<string, number>;
}

async function run(name: Name, which: CaseName): Promise<Row> {
  const ports = { plain: await freePort(), tls: await freePort(), mtls: await freePort() };
  const maxPacket = which === 'max-packet' ? 1024 * 1024 : 0;
  const broker: ChildProcess = await startPinned(name, configure(name, ports, maxPacket), async () =>
    (await LoadClient.open(ports.plain, 'probe', 1000)).close(),
  );
  let exited = false;
  broker.once('exit', () => (exited = true));
  let peakRss = 0;
  const sampler = setInterval(() => {
    if (!exited) peakRss = Math.max(peakRss, rssBytes(broker.pid!));
  }, 100);
  try {
    const load = await startSteadyLoad(ports.plain);
    await sleep(1000);
    load.window();
    peakRss = 0;
    await sleep(SECONDS * 1000);
    const base = load.measured();
    const baseRss = peakRss;
    const target: Target = {
      plainPort: ports.plain,
      tlsPort: ports.tls,
      mtlsPort: ports.mtls,
      caFile: files.ca,
      validCert: pki.clients.valid,
      invalidCert: pki.clients.unknownCa,
    };
    const attacker = spawn(
      'nice',
      [
        ...['-n', '19', 'taskset', '-c', '1'],
        ...['node', '--import', 'tsx', 'bench/hostile-attacks.ts', which, JSON.stringify(target)],
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let printed = '';
    attacker.stdout.on('data', (d: Buffer) => (printed += d.toString()));
    // The attacker in place (tsx starting it; slowloris: its 2,000 connections open), 30 s at most.
    for (let waited = 0; !printed.includes('ready') && waited < 30_000; waited += 50) await sleep(50);
    load.window();
    peakRss = 0;
    await sleep(SECONDS * 1000);
    const attacked = load.measured();
    load.quiet();
    attacker.kill('SIGTERM');
    await new Promise((resolve) => attacker.once('exit', resolve));
    // Deliveries sent in the window and never arrived: publishing stopped, 2 s for the rest.
    await sleep(2000);
    const settled = load.measured();
    load.stop();
    let up = !exited;
    if (up)
      up = await LoadClient.open(ports.plain, 'after', 5000).then(
        (c) => {
          c.close();
          return true;
        },
        () => false,
      );
    return {
      case: which,
      broker: name,
      baseP99: p99(base.latencies),
      attackP99: p99(attacked.latencies),
      disconnects: settled.disconnects,
      missing: Math.max(0, settled.sent - settled.received),
      baseRssMb: baseRss / 2 ** 20,
      peakRssMb: peakRss / 2 ** 20,
      up,
      attacker: JSON.parse(
        printed
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .at(-1) || '{}',
      ),
    };
  } finally {
    clearInterval(sampler);
    if (!exited) await stopProcess(broker);
  }
}

const ratio = (r: Row) => r.attackP99 / r.baseP99;
/** Per case and broker: the run with the median ratio, and the lowest and highest ratio seen. */
interface Summary extends Row {
  readonly runs: number;
  readonly low: number;
  readonly high: number;
  readonly worstPeakRssMb: number;
  readonly allUp: boolean;
  readonly allDisconnects: number;
  readonly allMissing: number;
}
function summarize(runs: Row[]): Summary {
  const sorted = [...runs].sort((a, b) => ratio(a) - ratio(b));
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)]!,
    runs: runs.length,
    low: ratio(sorted[0]!),
    high: ratio(sorted.at(-1)!),
    worstPeakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    allUp: runs.every((r) => r.up),
    allDisconnects: runs.reduce((n, r) => n + r.disconnects, 0),
    allMissing: runs.reduce((n, r) => n + r.missing, 0),
  };
}

const rows: Summary[] = [];
const brokers = (['warden', 'mosquitto'] as const).filter((name) => ONLY === '' || ONLY === name);
for (const which of CHOSEN) {
  const runs = new Map<Name, Row[]>(brokers.map((name) => [name, []]));
  // Alternating, so that whatever else slows the machine for a while weighs on both alike.
  for (let i = 0; i < REPEATS; i++)
    for (const name of brokers) {
      const row = await run(name, which);
      runs.get(name)!.push(row);
      console.error(`${which} / ${name} #${i + 1}: ${JSON.stringify(row)}`);
    }
  for (const name of brokers) rows.push(summarize(runs.get(name)!));
}

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'none');
console.log(
  `bench:hostile, ${SECONDS} s undisturbed then ${SECONDS} s under attack, 200 clients at 2,000 msg/s QoS 1, ${REPEATS} runs per case (the median run shown)`,
);
console.log(
  '| case | broker | p99 ms undisturbed | p99 ms attacked | ratio (median) | ratio range | disconnected | missing | RSS MB | peak RSS MB (worst run) | up | attacker |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
for (const r of rows)
  console.log(
    `| ${r.case} | ${r.broker} | ${ms(r.baseP99)} | ${ms(r.attackP99)} | ${ratio(r).toFixed(2)}x | ${r.low.toFixed(2)}-${r.high.toFixed(2)}x | ${r.allDisconnects} | ${r.allMissing} | ${r.baseRssMb.toFixed(0)} | ${r.worstPeakRssMb.toFixed(0)} | ${r.allUp ? 'yes' : '**no**'} | ${Object.entries(
      r.attacker,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`,
  );
