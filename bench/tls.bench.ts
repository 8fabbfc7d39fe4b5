// TLS cost of warden's broker, side by side with Debian's mosquitto (same mosquitto.conf) and a
// bare Node TLS server that only answers CONNECT with CONNACK (tls-floor.ts: the floor for any
// Node broker). Broker CPU per full TLS 1.3 handshake + CONNECT/CONNACK (ECDSA P-256 and RSA-2048,
// with and without session resumption) and RSS per idle TLS connection; then the same with client
// certificates required (warden then runs each connection through its alert gate), and broker CPU
// per QoS 0 message at a fixed rate, with and without client certificates. Servers pinned to
// core 0, this generator to core 1 (npm run bench:tls does both).
// Usage: npm run bench:tls [-- --handshakes 2000 --connections 5000 --messages 100000 --rate 20000
//        --servers warden,mosquitto,node floor --variants ecdsa,rsa,mtls,storm --storm 10000]

import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../src/pki/index.js';
import { encodePacket, FrameDecoder } from '../src/protocol/index.js';
import { arg, cpuMs, freePort, rssBytes, sleep, startPinned, stopProcess } from './bench-process.js';

const HANDSHAKES = Number(arg('handshakes', '2000'));
const CONNECTIONS = Number(arg('connections', '5000'));
const MESSAGES = Number(arg('messages', '100000'));
const RATE = Number(arg('rate', '20000'));
const CONCURRENCY = 20;
/** Clients of the reconnect storm (`--variants storm`). */
const STORM = Number(arg('storm', '10000'));
const dir = mkdtempSync(join(tmpdir(), 'warden-tls-bench-'));
// mosquitto started as root reads its certificate files after dropping to its own user.
chmodSync(dir, 0o755);

const ca = await createCertificateAuthority({ name: 'CN=Bench CA' });
const caPem = ca.certificatePem;
const keys = {} as Record<'ecdsa' | 'rsa', { cert: string; key: string }>;
for (const [name, keyType] of [
  ['ecdsa', 'ec-p256'],
  ['rsa', 'rsa-2048'],
] as const) {
  const issued = await issueCertificate(ca, {
    name: 'localhost',
    kind: 'server',
    hosts: ['localhost', '127.0.0.1'],
    keyType,
  });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, issued.fullChainPem);
  writeFileSync(key, issued.privateKeyPem, { mode: 0o644 }); // a throwaway key, readable by mosquitto's user
  keys[name] = { cert, key };
}

const caFile = join(dir, 'ca.crt');
writeFileSync(caFile, caPem);
const device = await issueCertificate(ca, { name: 'bench-device', kind: 'client', keyType: 'ec-p256' });
const clientCert = { cert: device.fullChainPem, key: device.privateKeyPem };
/** Set while the client-certificate rows run: every connection presents the device's certificate. */
let presentCertificate = false;

const CONNECT = encodePacket(
  { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: '' },
  4,
);

/** TLS 1.3 handshake, CONNECT, CONNACK; resolves with the open socket. */
function mqttsConnect(
  port: number,
  session?: Buffer,
  timeoutMs = 10_000,
): Promise<{ socket: TLSSocket; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: caPem,
      session,
      minVersion: 'TLSv1.3',
      ...(presentCertificate && clientCert),
    });
    socket.on('session', (s: Buffer) => {
      ticket = s;
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timed out'));
    }, timeoutMs).unref();
    socket.once('secureConnect', () => socket.write(CONNECT));
    socket.once('data', (d: Buffer) => {
      clearTimeout(timer);
      if (d[0] === 0x20) resolve({ socket, session: ticket });
      else reject(new Error('no CONNACK'));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

type Server = 'warden' | 'mosquitto' | 'node floor';
type Variant = 'ecdsa' | 'rsa' | 'ecdsa, client certificate required';

async function start(server: Server, variant: Variant): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const key = variant === 'rsa' ? 'rsa' : 'ecdsa';
  const mutual = variant.includes('client certificate');
  const conf = join(dir, `${server.replace(' ', '-')}-${key}${mutual ? '-mtls' : ''}.conf`);
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `certfile ${keys[key].cert}`,
      `keyfile ${keys[key].key}`,
      ...(mutual ? [`cafile ${caFile}`, 'require_certificate true'] : []),
      'allow_anonymous true',
      'sys_interval 0',
      'log_type error',
      '',
    ].join('\n'),
  );
  const command =
    server === 'warden'
      ? [
          'node',
          ...(process.env.WARDEN_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          'dist/cli/main.js',
          'broker',
          '-c',
          conf,
        ]
      : server === 'mosquitto'
        ? ['mosquitto', '-c', conf]
        : [
            ...['node', '--import', 'tsx', 'bench/tls-floor.ts', String(port), keys[key].cert, keys[key].key],
            ...(mutual ? [caFile] : []),
          ];
  const child = await startPinned(server, command, async () => {
    (await mqttsConnect(port)).socket.destroy();
  });
  return { child, port };
}

/** Broker CPU µs per handshake over HANDSHAKES connections, CONCURRENCY at a time. */
async function handshakes(port: number, pid: number, resume: boolean): Promise<number> {
  const first = await mqttsConnect(port);
  await sleep(100);
  const session = first.session;
  first.socket.destroy();
  const before = cpuMs(pid);
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (done < HANDSHAKES) {
        done++;
        const { socket } = await mqttsConnect(port, resume ? session : undefined);
        socket.destroy();
      }
    }),
  );
  await sleep(200);
  return ((cpuMs(pid) - before) * 1000) / HANDSHAKES;
}

async function idleRss(port: number, pid: number): Promise<number> {
  await sleep(500);
  const before = rssBytes(pid);
  const sockets: TLSSocket[] = [];
  for (let i = 0; i < CONNECTIONS; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, CONNECTIONS - i) }, () => mqttsConnect(port)),
    );
    sockets.push(...batch.map((b) => b.socket));
  }
  await sleep(1000);
  const after = rssBytes(pid);
  for (const s of sockets) s.destroy();
  return (after - before) / CONNECTIONS;
}

/** An MQTT client over TLS: CONNECT/CONNACK done, then every PUBLISH it receives counted. */
async function messageClient(port: number) {
  const { socket } = await mqttsConnect(port);
  const decoder = new FrameDecoder({ protocolVersion: 4 });
  const client = { socket, received: 0, subscribed: false };
  socket.on('data', (chunk: Buffer) => {
    for (const packet of decoder.push(chunk)) {
      if (packet.type === 'publish') client.received++;
      if (packet.type === 'suback') client.subscribed = true;
    }
  });
  return client;
}

/**
 * Broker CPU µs per QoS 0 message (64-byte payload) published at RATE messages/s by one client
 * and delivered to another, both on the listener under test; undefined for the floor.
 */
async function messageCost(port: number, pid: number): Promise<number> {
  const subscriber = await messageClient(port);
  subscriber.socket.write(
    encodePacket(
      {
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          { topicFilter: 'bench/t', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      },
      4,
    ),
  );
  while (!subscriber.subscribed) await sleep(10);
  const publisher = await messageClient(port);
  const publish = encodePacket(
    { type: 'publish', topic: 'bench/t', payload: Buffer.alloc(64, 7), qos: 0, retain: false, dup: false },
    4,
  );
  const before = cpuMs(pid);
  const started = performance.now();
  let sent = 0;
  // Paced in 10 ms slices, so every broker works at the same rate.
  while (sent < MESSAGES) {
    const due = Math.min(MESSAGES, Math.floor(((performance.now() - started) * RATE) / 1000));
    while (sent < due) {
      publisher.socket.write(publish);
      sent++;
    }
    await sleep(10);
  }
  const deadline = Date.now() + 10_000;
  while (subscriber.received < MESSAGES && Date.now() < deadline) await sleep(20);
  const cost = ((cpuMs(pid) - before) * 1000) / MESSAGES;
  if (subscriber.received < MESSAGES) console.error(`  only ${subscriber.received} of ${MESSAGES} delivered`);
  publisher.socket.destroy();
  subscriber.socket.destroy();
  return cost;
}

/**
 * A fleet reconnecting after an outage (issue 18): STORM clients start a TLS 1.3 handshake and
 * CONNECT all at once against a fresh server. Time until the last CONNACK, the server's peak RSS
 * (sampled every 100 ms) and CPU over the storm, and the clients that failed (60 s each at most).
 * One generator core makes every client handshake too, so the time is a floor set by the
 * generator as much as by the server: the server's CPU says which one it was.
 */
async function storm(port: number, pid: number) {
  let peak = rssBytes(pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 100);
  const before = cpuMs(pid);
  const started = performance.now();
  const sockets: TLSSocket[] = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: STORM }, async () => {
      try {
        const { socket } = await mqttsConnect(port, undefined, 60_000);
        sockets.push(socket);
      } catch {
        failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs(pid) - before;
  clearInterval(sampler);
  for (const socket of sockets) socket.destroy();
  await sleep(1000);
  return { seconds, peakMiB: peak / 1024 / 1024, cpuSeconds: cpu / 1000, failed };
}

const servers = arg('servers', 'warden,mosquitto,node floor').split(',') as Server[];
const results: Record<string, Record<Server, number>> = {};
const put = (row: string, server: Server, value: number) => {
  results[row] ??= {} as Record<Server, number>;
  results[row][server] = value;
};
const ALL_VARIANTS: Variant[] = ['ecdsa', 'rsa', 'ecdsa, client certificate required'];
// --variants mtls: only the client-certificate rows.
const variants = ALL_VARIANTS.filter((v) =>
  arg('variants', 'ecdsa,rsa,mtls,storm')
    .split(',')
    .includes(v.includes('client') ? 'mtls' : v),
);
for (const variant of variants) {
  presentCertificate = variant.includes('client certificate');
  for (const server of servers) {
    console.error(`${server}, ${variant} ...`);
    const { child, port } = await start(server, variant);
    try {
      put(
        `CPU µs per full TLS 1.3 handshake + CONNECT, ${variant}`,
        server,
        await handshakes(port, child.pid!, false),
      );
      if (variant !== 'rsa')
        put(
          `RSS per idle TLS connection at ${CONNECTIONS}, KiB, ${variant}`,
          server,
          (await idleRss(port, child.pid!)) / 1024,
        );
      if (variant === 'rsa' || !presentCertificate)
        put(
          `CPU µs per resumed TLS 1.3 handshake + CONNECT, ${variant}`,
          server,
          await handshakes(port, child.pid!, true),
        );
      if (variant !== 'rsa' && server !== 'node floor')
        put(
          `CPU µs per QoS 0 message at ${RATE}/s, ${variant === 'ecdsa' ? 'no client certificate' : variant}`,
          server,
          await messageCost(port, child.pid!),
        );
    } finally {
      await stopProcess(child);
    }
  }
}
if (arg('variants', 'ecdsa,rsa,mtls,storm').split(',').includes('storm')) {
  presentCertificate = false;
  for (const server of servers) {
    console.error(`${server}, reconnect storm of ${STORM} ...`);
    const { child, port } = await start(server, 'ecdsa');
    try {
      const r = await storm(port, child.pid!);
      put(`reconnect storm, ${STORM} TLS clients at once: seconds to the last CONNACK`, server, r.seconds);
      put('reconnect storm: server peak RSS MiB', server, r.peakMiB);
      put('reconnect storm: server CPU seconds', server, r.cpuSeconds);
      put('reconnect storm: clients that failed', server, r.failed);
    } finally {
      await stopProcess(child);
    }
  }
}
console.log('| measure | warden | mosquitto | node floor | warden / floor | warden / mosquitto |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [row, r] of Object.entries(results)) {
  // A run limited with --servers leaves columns empty.
  const f = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(1));
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}x`;
  console.log(
    `| ${row} | ${f(r.warden)} | ${f(r.mosquitto)} | ${f(r['node floor'])} | ${ratio(r.warden, r['node floor'])} | ${ratio(r.warden, r.mosquitto)} |`,
  );
}
