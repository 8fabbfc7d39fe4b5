// Bridged QoS 1 throughput: a publisher on the local broker, a bridge carrying `bench/#` out at
// QoS 1 to a remote mosquitto, a subscriber there. The local broker is warden, then mosquitto,
// from the same mosquitto.conf, in the same run, against the same remote. Reported: messages per
// second delivered at the remote, and the local broker's CPU per message.
// The local broker is pinned to core 0, the remote mosquitto and this generator to core 1 (npm run
// bench:bridge does). The publisher stops while more than WINDOW messages are published and not
// yet delivered, so the rate is what the bridge sustains without its queue overflowing.
// Usage: npm run bench:bridge [-- --seconds 5 --window 500 --payload 64 --only warden|mosquitto]

import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Packet } from '../src/protocol/index.js';
import { arg, cpuMs, freePort, sleep, startPinned, stopProcess, waitList } from './bench-process.js';
import { LoadClient, pubackPacket, publishPacket } from './broker-load.js';

const SECONDS = Number(arg('seconds', '5'));
const WINDOW = Number(arg('window', '500'));
const PAYLOAD = Buffer.alloc(Number(arg('payload', '64')), 'x');
const ONLY = arg('only', '');
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-bridge-'));
chmodSync(dir, 0o755);

type Local = 'warden' | 'mosquitto';

function localConf(name: Local, port: number, remotePort: number): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'sys_interval 0',
      'log_type error',
      'max_queued_messages 10000',
      `connection bench-${name}`,
      `address 127.0.0.1:${remotePort}`,
      `remote_clientid bench-${name}`,
      'restart_timeout 1',
      'topic bench/# out 1',
      '',
    ].join('\n'),
  );
  return file;
}

async function startRemote(port: number): Promise<ChildProcess> {
  const file = join(dir, 'remote.conf');
  writeFileSync(
    file,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'max_queued_messages 100000',
      'log_type error',
      '',
    ].join('\n'),
  );
  return startPinned(
    'remote mosquitto',
    ['mosquitto', '-c', file],
    async () => (await LoadClient.open(port, 'probe-remote', 1000)).close(),
    1,
  );
}

async function measure(name: Local, remotePort: number) {
  const port = await freePort();
  const file = localConf(name, port, remotePort);
  const command =
    name === 'mosquitto' ? ['mosquitto', '-c', file] : ['node', 'dist/cli/main.js', 'broker', '-c', file];
  const local = await startPinned(
    name,
    command,
    async () => (await LoadClient.open(port, 'probe', 1000)).close(),
    0,
  );
  const sub = await LoadClient.open(remotePort, `sub-${name}`);
  await sub.subscribe('bench/#', 1);
  let delivered = 0;
  const { wait, wakeAll } = waitList();
  sub.onPacket = (p: Packet) => {
    if (p.type !== 'publish') return;
    delivered++;
    if (p.qos === 1) sub.socket.write(pubackPacket(p.packetId!));
    wakeAll();
  };
  const pub = await LoadClient.open(port, `pub-${name}`);
  pub.onPacket = () => undefined; // PUBACKs: the window is counted at the remote
  // The link is up once a message goes through.
  for (let tries = 0; delivered === 0; tries++) {
    if (tries > 300) throw new Error(`${name}: the bridge did not come up`);
    await pub.write(publishPacket('bench/warm', PAYLOAD, 1, 1));
    await sleep(100);
  }
  await sleep(500);
  let sent = delivered;
  const run = async (ms: number) => {
    const until = performance.now() + ms;
    let id = 1;
    while (performance.now() < until) {
      while (sent - delivered > WINDOW)
        if (!(await Promise.race([wait(), sleep(1000).then(() => false)]))) break;
      id = (id % 65_535) + 1;
      sent++;
      await pub.write(publishPacket('bench/t', PAYLOAD, 1, id));
    }
  };
  await run(1000); // warm-up
  const startDelivered = delivered;
  const startCpu = cpuMs(local.pid!);
  const started = performance.now();
  await run(SECONDS * 1000);
  const elapsed = (performance.now() - started) / 1000;
  const count = delivered - startDelivered;
  const cpu = cpuMs(local.pid!) - startCpu;
  pub.close();
  sub.close();
  await stopProcess(local);
  return { name, rate: count / elapsed, cpuUsPerMessage: (cpu * 1000) / count };
}

const remotePort = await freePort();
const remote = await startRemote(remotePort);
try {
  const results = [];
  for (const name of ['warden', 'mosquitto'] as const)
    if (ONLY === '' || ONLY === name) results.push(await measure(name, remotePort));
  console.log(
    `bridged QoS 1, ${PAYLOAD.length} B, window ${WINDOW}, ${SECONDS} s, local broker on core 0, remote mosquitto on core 1`,
  );
  console.log('| local broker | msg/s at the remote | local CPU µs / msg |');
  console.log('|---|---|---|');
  for (const r of results)
    console.log(`| ${r.name} | ${Math.round(r.rate)} | ${r.cpuUsPerMessage.toFixed(1)} |`);
  const [w, m] = results;
  if (w && m)
    console.log(
      `warden / mosquitto: ${(w.rate / m.rate).toFixed(2)}x the rate, ${(w.cpuUsPerMessage / m.cpuUsPerMessage).toFixed(2)}x the CPU per message`,
    );
} finally {
  await stopProcess(remote);
}
