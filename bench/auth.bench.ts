// The cost of a password login, warden against Debian's mosquitto: broker CPU per CONNECT with a
// user name and password (plain TCP, so only the login is measured) and logins per second, with
// mosquitto_passwd's $7$ file in both, and with warden's scrypt file on a first login and on a
// reconnect (a password that verified is remembered as a MAC). Also the ACL's cost on delivery:
// QoS 0 messages per second through one subscriber with and without an ACL file.
// Broker pinned to core 0, this generator to core 1 (npm run bench:auth does both).
// Usage: npm run bench:auth [-- --logins 200 --messages 100000]

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../src/broker/index.js';
import { encodePacket, FrameDecoder, type Packet } from '../src/protocol/index.js';
import { arg, cpuMs, freePort, sleep, startPinned, stopProcess } from './bench-process.js';

const LOGINS = Number(arg('logins', '200'));
const MESSAGES = Number(arg('messages', '100000'));
const CONCURRENCY = 8;
const dir = mkdtempSync(join(tmpdir(), 'warden-auth-bench-'));
chmodSync(dir, 0o755); // mosquitto reads its files as its own user

const users = Array.from({ length: LOGINS }, (_, i) => `user${i}`);
const mosquittoFile = join(dir, 'mosquitto.passwd');
const scryptFile = join(dir, 'scrypt.passwd');
// Plain text first, hashed by each tool's own code: mosquitto_passwd -U, and warden's hashPassword.
writeFileSync(mosquittoFile, users.map((u, i) => `${u}:pw-${i}\n`).join(''), { mode: 0o644 });
execFileSync('mosquitto_passwd', ['-U', mosquittoFile]);
const scryptLines = await Promise.all(users.map(async (u, i) => `${u}:${await hashPassword(`pw-${i}`)}\n`));
writeFileSync(scryptFile, scryptLines.join(''), { mode: 0o644 });
const aclFile = join(dir, 'acl');
writeFileSync(
  aclFile,
  'user user0\ntopic readwrite bench/#\npattern read devices/%u/#\ntopic deny bench/secret\n',
  {
    mode: 0o644,
  },
);

/** CONNECT and wait for CONNACK; resolves with the socket and its decoder. */
function mqttConnect(port: number, username?: string, password?: string) {
  return new Promise<{ socket: Socket; decoder: FrameDecoder }>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder({ protocolVersion: 4 });
    socket.once('error', reject);
    const onData = (chunk: Buffer) => {
      for (const packet of decoder.push(chunk) as Packet[]) {
        if (packet.type !== 'connack') continue;
        socket.off('data', onData);
        if (packet.reasonCode !== 0) reject(new Error(`CONNACK ${packet.reasonCode}`));
        else resolve({ socket, decoder });
      }
    };
    socket.on('data', onData);
    socket.write(
      encodePacket(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepAlive: 0,
          clientId: '',
          username,
          password: password === undefined ? undefined : Buffer.from(password),
        },
        4,
      ),
    );
  });
}

async function startBroker(server: 'warden' | 'mosquitto', passwords: string, acl?: string) {
  const port = await freePort();
  const conf = join(dir, `${server}-${port}.conf`);
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `password_file ${passwords}`,
      ...(acl ? [`acl_file ${acl}`] : []),
      'allow_anonymous false',
      'sys_interval 0',
      'log_type error',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const command =
    server === 'warden' ? ['node', 'dist/cli/main.js', 'broker', '-c', conf] : ['mosquitto', '-c', conf];
  const child = await startPinned(server, command, async () => {
    (await mqttConnect(port, users[0], 'pw-0')).socket.destroy();
  });
  return { child, port };
}

/** Broker CPU µs per login and logins per second, each user once, CONCURRENCY at a time. */
async function logins(port: number, pid: number): Promise<{ cpuUs: number; perSecond: number }> {
  await sleep(200);
  const before = cpuMs(pid);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < LOGINS) {
        const i = next++;
        (await mqttConnect(port, users[i], `pw-${i}`)).socket.destroy();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await sleep(200);
  return { cpuUs: ((cpuMs(pid) - before) * 1000) / LOGINS, perSecond: LOGINS / seconds };
}

/** QoS 0 messages per second from one publisher to one subscriber of bench/#. */
async function delivery(port: number): Promise<number> {
  const sub = await mqttConnect(port, users[0], 'pw-0');
  const pub = await mqttConnect(port, users[0], 'pw-0');
  sub.socket.write(
    encodePacket(
      {
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          { topicFilter: 'bench/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      },
      4,
    ),
  );
  await sleep(300);
  let received = 0;
  const done = new Promise<void>((resolve) =>
    sub.socket.on('data', (chunk: Buffer) => {
      for (const p of sub.decoder.push(chunk) as Packet[])
        if (p.type === 'publish' && ++received >= MESSAGES) resolve();
    }),
  );
  const message = encodePacket(
    { type: 'publish', topic: 'bench/t', payload: Buffer.alloc(64), qos: 0, retain: false, dup: false },
    4,
  );
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i += 1000) {
    if (!pub.socket.write(Buffer.concat(Array(Math.min(1000, MESSAGES - i)).fill(message))))
      await new Promise((r) => pub.socket.once('drain', r));
  }
  await done;
  const rate = MESSAGES / ((performance.now() - started) / 1000);
  sub.socket.destroy();
  pub.socket.destroy();
  return rate;
}

const rows: string[] = [];
for (const [label, server, file] of [
  ['mosquitto, mosquitto_passwd $7$', 'mosquitto', mosquittoFile],
  ['warden, the same $7$ file', 'warden', mosquittoFile],
  ['warden, scrypt (warden passwd)', 'warden', scryptFile],
] as const) {
  const { child, port } = await startBroker(server, file);
  try {
    const first = await logins(port, child.pid!);
    rows.push(`| ${label}, first login | ${first.cpuUs.toFixed(0)} | ${first.perSecond.toFixed(0)} |`);
    if (server === 'warden') {
      const again = await logins(port, child.pid!);
      rows.push(`| ${label}, reconnect | ${again.cpuUs.toFixed(0)} | ${again.perSecond.toFixed(0)} |`);
    }
  } finally {
    await stopProcess(child);
  }
}
console.log('| login | broker CPU µs per login | logins/s |\n| --- | ---: | ---: |');
console.log(rows.join('\n'));

const deliveries: string[] = [];
for (const server of ['mosquitto', 'warden'] as const) {
  for (const acl of [undefined, aclFile]) {
    const { child, port } = await startBroker(server, mosquittoFile, acl);
    try {
      deliveries.push(
        `| ${server} | ${acl ? 'ACL file' : 'no ACL'} | ${(await delivery(port)).toFixed(0)} |`,
      );
    } finally {
      await stopProcess(child);
    }
  }
}
console.log('\n| broker | authorization | QoS 0 msg/s, 1 publisher -> 1 subscriber |\n| --- | --- | ---: |');
console.log(deliveries.join('\n'));
