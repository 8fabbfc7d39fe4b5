// The abusive clients of bench:hostile, one case per run of this program (its own process, pinned
// to the generator's core, so the well-behaved clients' event loop never waits behind it). It
// attacks until SIGTERM, then prints what it did as one JSON line.
// Usage (from hostile.bench.ts): node --import tsx bench/hostile-attacks.ts <case> '<target json>'

import { readFileSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { corpus } from '../fuzz/mutate.js';
import { stream as fuzzStream } from '../fuzz/socket-fuzz.js';
import { encodePacket, type ProtocolVersion } from '../src/protocol/index.js';
import { sleep } from './bench-process.js';

export interface Target {
  readonly plainPort: number;
  readonly tlsPort: number;
  readonly mtlsPort: number;
  readonly caFile: string;
  readonly validCert: { cert: string; key: string };
  readonly invalidCert: { cert: string; key: string };
}

export const CASES = [
  'slowloris',
  'handshake-flood',
  'handshake-flood-server-only',
  'lying-headers',
  'max-packet',
  'subscription-bomb',
  'retained-bomb',
  'user-properties',
  'protocol-abuse',
  'slow-consumers',
  'fuzz',
] as const;
export type CaseName = (typeof CASES)[number];

const counts: Record<string, number> = {};
const count = (what: string, n = 1) => {
  counts[what] = (counts[what] ?? 0) + n;
};
let running = true;
/** Tells the bench the attack is in place (for slowloris: all its connections open). */
let told = false;
const ready = () => {
  if (told) return;
  told = true;
  process.stdout.write('ready\n');
};

const connectPacket = (clientId: string, version: ProtocolVersion = 4) =>
  encodePacket(
    { type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepAlive: 0, clientId },
    version,
  );

/** A TCP connection; resolves once open (or false when it could not open). */
function open(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(undefined));
  });
}

/** Writes, waiting for the socket to drain when it is full; false once it is closed. */
async function write(s: Socket, bytes: Buffer): Promise<boolean> {
  if (s.destroyed) return false;
  if (s.write(bytes)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      s.off('drain', done).off('close', done);
      resolve();
    };
    s.once('drain', done).once('close', done);
  });
  return !s.destroyed;
}

/** `n` loops of `body` until stopped; a loop whose connection closed starts again. */
const loops = (n: number, body: (i: number) => Promise<void>) =>
  Promise.all(
    Array.from({ length: n }, async (_, i) => {
      while (running) {
        await body(i);
        await sleep(5);
      }
    }),
  );

/** Resolves when the socket closes (or the attack stops). */
const closed = (s: Socket) =>
  new Promise<void>((resolve) => {
    if (s.destroyed) resolve();
    s.once('close', () => resolve());
    const stop = setInterval(() => {
      if (!running) {
        clearInterval(stop);
        s.destroy();
        resolve();
      }
    }, 200);
    s.once('close', () => clearInterval(stop));
  });

/** TLS handshakes from 64 loops at `port`, each with the client certificate `certificate` gives (or none). */
async function handshakeFlood(
  port: number,
  caFile: string,
  certificate: () => { cert?: Buffer; key?: Buffer },
) {
  const ca = readFileSync(caFile);
  await loops(64, async (i) => {
    const cert = certificate();
    count('started');
    await new Promise<void>((resolve) => {
      const c = tlsConnect({ port, host: '127.0.0.1', ca, servername: 'localhost', ...cert });
      c.on('error', () => {
        count('refused');
        resolve();
      });
      c.once('secureConnect', () => {
        // TLS 1.3: the server's verdict on a client certificate comes after; a byte shows it.
        c.write(connectPacket(`flood-${i}`));
        c.once('data', () => {
          count('admitted');
          c.destroy();
          resolve();
        });
      });
      c.once('close', () => resolve());
    });
  });
}

const ATTACKS: Record<CaseName, (t: Target) => Promise<void>> = {
  // 2,000 connections, half plain, half TLS, sending a CONNECT one byte every 2 s, or nothing.
  async slowloris(t) {
    const connect = connectPacket('slow');
    await loops(2000, async (i) => {
      const tls = i % 2 === 1;
      const s: Socket | undefined = tls
        ? await new Promise((resolve) => {
            const c = tlsConnect({
              port: t.tlsPort,
              host: '127.0.0.1',
              ca: readFileSync(t.caFile),
              servername: 'localhost',
            });
            c.on('error', () => undefined);
            c.once('secureConnect', () => resolve(c));
            c.once('close', () => resolve(undefined));
          })
        : await open(t.plainPort);
      if (s === undefined) return count('refused at open');
      count(tls ? 'tls opened' : 'tcp opened');
      if ((counts['tls opened'] ?? 0) + (counts['tcp opened'] ?? 0) >= 2000) ready();
      const trickle = i % 4 < 2;
      let at = 0;
      const timer = setInterval(() => {
        if (trickle && at < connect.length) s.write(connect.subarray(at, ++at));
      }, 2000);
      await closed(s);
      clearInterval(timer);
      if (running) count('closed by the broker');
    });
  },

  // TLS handshakes as fast as 64 loops can start them, valid and unknown-CA client certificates.
  async 'handshake-flood'(t) {
    const certs = [t.validCert, t.invalidCert].map((c) => ({
      cert: readFileSync(c.cert),
      key: readFileSync(c.key),
    }));
    await handshakeFlood(t.mtlsPort, t.caFile, () => certs[(counts.started ?? 0) % 2]!);
  },

  // The same flood at the listener that asks for no client certificate: TLS on the native socket,
  // where the one above runs through the alert gate (a JavaScript stream) to tell refusals apart.
  async 'handshake-flood-server-only'(t) {
    await handshakeFlood(t.tlsPort, t.caFile, () => ({}));
  },

  // Headers claiming 268,435,455 bytes with nothing behind them: as the first packet (CONNECT and
  // not), and after a valid CONNECT. 500 connections, reopened when closed.
  async 'lying-headers'(t) {
    const huge = [0xff, 0xff, 0xff, 0x7f];
    await loops(500, async (i) => {
      const s = await open(t.plainPort);
      if (s === undefined) return count('refused at open');
      const kind = i % 3;
      if (kind === 0) s.write(Buffer.from([0x10, ...huge, 0x00, 0x04]));
      if (kind === 1) s.write(Buffer.from([0x30, ...huge, 0x00, 0x01]));
      if (kind === 2)
        s.write(Buffer.concat([connectPacket(`liar-${i}`), Buffer.from([0x30, ...huge, 0x00, 0x01, 0x61])]));
      count(['connect', 'publish first', 'publish after connect'][kind]!);
      await closed(s);
      if (running) count('closed by the broker');
    });
  },

  // 100 MB PUBLISHes streamed against max_packet_size (1 MB in this case's configuration).
  async 'max-packet'(t) {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const size = 100 * 1024 * 1024;
    await loops(10, async (i) => {
      const s = await open(t.plainPort);
      if (s === undefined) return count('refused at open');
      await write(s, connectPacket(`big-${i}`));
      // PUBLISH QoS 0 "t": remaining length = 2 + 1 + payload.
      const remaining = 3 + size;
      const header = [0x30];
      for (let v = remaining; ; ) {
        const byte = v % 128;
        v = Math.floor(v / 128);
        header.push(v > 0 ? byte | 0x80 : byte);
        if (v === 0) break;
      }
      await write(s, Buffer.from([...header, 0x00, 0x01, 0x74]));
      let sent = 0;
      while (running && sent < size && (await write(s, chunk))) sent += chunk.length;
      count('MB written', Math.round(sent / 2 ** 20));
      count(sent >= size ? 'sent whole' : 'cut off by the broker');
      s.destroy();
    });
  },

  // One client: 100,000 filters, 200-level filters, 65,535-byte filters; again on each close.
  async 'subscription-bomb'(t) {
    await loops(1, async () => {
      const s = await open(t.plainPort);
      if (s === undefined) return count('refused at open');
      await write(s, connectPacket('sub-bomb'));
      const sub = (filters: string[], id: number) =>
        encodePacket(
          {
            type: 'subscribe',
            packetId: id,
            subscriptions: filters.map((topicFilter) => ({
              topicFilter,
              qos: 0,
              noLocal: false,
              retainAsPublished: false,
              retainHandling: 0,
            })),
          },
          4,
        );
      let id = 0;
      for (let batch = 0; batch < 100 && running; batch++)
        if (
          !(await write(
            s,
            sub(
              Array.from({ length: 1000 }, (_, k) => `bomb/${batch}/${k}`),
              ++id,
            ),
          ))
        )
          break;
      count('filters sent', 1000 * id);
      const deep = Array.from({ length: 200 }, () => '+').join('/');
      for (let k = 0; k < 50 && running; k++) await write(s, sub([`${deep}/${k}`], ++id));
      const long = 'x'.repeat(65_535 - 8);
      for (let k = 0; k < 10 && running; k++) await write(s, sub([`${long}/${k}`.slice(0, 65_535)], ++id));
      count('packets sent', id);
      await closed(s);
      if (running) count('closed by the broker');
    });
  },

  // 100,000 distinct retained topics, 100 B each, from one client (QoS 0).
  async 'retained-bomb'(t) {
    const payload = Buffer.alloc(100, 0x72);
    await loops(1, async () => {
      const s = await open(t.plainPort);
      if (s === undefined) return count('refused at open');
      await write(s, connectPacket('retain-bomb'));
      for (let k = 0; k < 100_000 && running; k++) {
        const packet = encodePacket(
          { type: 'publish', topic: `rbomb/${k}`, payload, qos: 0, retain: true, dup: false },
          4,
        );
        if (!(await write(s, packet))) break;
        count('retained published');
      }
      await closed(s);
    });
  },

  // MQTT 5 PUBLISHes with 10,000 user properties each, as fast as the broker takes them.
  async 'user-properties'(t) {
    const userProperties = Array.from({ length: 10_000 }, (_, k) => [`k${k}`, 'v'] as const);
    const packet = encodePacket(
      {
        type: 'publish',
        topic: 'props/x',
        payload: Buffer.from('p'),
        qos: 0,
        retain: false,
        dup: false,
        properties: { userProperties },
      },
      5,
    );
    await loops(4, async (i) => {
      const s = await open(t.plainPort);
      if (s === undefined) return count('refused at open');
      await write(s, connectPacket(`props-${i}`, 5));
      while (running && (await write(s, packet))) count('packets of 10,000 properties');
      if (running) count('closed by the broker');
    });
  },

  // QoS 2 never released (70,000 ids: past Receive Maximum), PUBREL for unknown ids, CONNECT
  // twice, a PINGREQ storm, topic aliases past the maximum, AUTH without a method: in parallel.
  async 'protocol-abuse'(t) {
    const abuses: Array<(s: Socket, i: number) => Promise<void>> = [
      async (s) => {
        await write(s, connectPacket('qos2-hoarder', 5));
        for (let id = 1; id <= 70_000 && running; id++) {
          const packet = encodePacket(
            {
              type: 'publish',
              topic: 'q2/x',
              payload: Buffer.from('q'),
              qos: 2,
              retain: false,
              dup: false,
              packetId: ((id - 1) % 65_535) + 1,
            },
            5,
          );
          if (!(await write(s, packet))) break;
          count('qos2 unreleased');
        }
      },
      async (s) => {
        await write(s, connectPacket('pubrel-unknown', 5));
        for (let id = 1; id <= 20_000 && running; id++) {
          if (!(await write(s, encodePacket({ type: 'pubrel', packetId: id }, 5)))) break;
          count('pubrel unknown');
        }
      },
      async (s, i) => {
        await write(s, Buffer.concat([connectPacket(`twice-${i}`), connectPacket(`twice-${i}`)]));
        count('connect twice');
      },
      async (s) => {
        await write(s, connectPacket('pinger'));
        const ping = encodePacket({ type: 'pingreq' }, 4);
        const burst = Buffer.concat(Array.from({ length: 1000 }, () => ping));
        while (running && (await write(s, burst))) count('pingreq', 1000);
      },
      async (s, i) => {
        await write(s, connectPacket(`alias-${i}`, 5));
        for (let alias = 1; alias <= 1000 && running; alias++) {
          const packet = encodePacket(
            {
              type: 'publish',
              topic: `alias/${alias}`,
              payload: Buffer.from('a'),
              qos: 0,
              retain: false,
              dup: false,
              properties: { topicAlias: alias },
            },
            5,
          );
          if (!(await write(s, packet))) break;
          count('topic aliases');
        }
      },
      async (s, i) => {
        await write(s, connectPacket(`auth-${i}`, 5));
        for (let k = 0; k < 100 && running; k++) {
          if (
            !(await write(
              s,
              encodePacket(
                { type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'NOPE' } },
                5,
              ),
            ))
          )
            break;
          count('auth');
        }
      },
    ];
    await loops(abuses.length * 4, async (i) => {
      const s = await open(t.plainPort);
      if (s === undefined) return count('refused at open');
      await abuses[i % abuses.length]!(s, i);
      await closed(s);
      if (running) count('closed by the broker');
    });
  },

  // 100 subscribers that stop reading (half QoS 0, half QoS 1) while one publisher sends 1 KB
  // messages to them as fast as the broker takes them.
  async 'slow-consumers'(t) {
    const subscribers: Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = await open(t.plainPort);
      if (s === undefined) continue;
      await write(s, connectPacket(`slow-${i}`));
      await write(
        s,
        encodePacket(
          {
            type: 'subscribe',
            packetId: 1,
            subscriptions: [
              {
                topicFilter: 'slow/#',
                qos: i % 2 === 0 ? 0 : 1,
                noLocal: false,
                retainAsPublished: false,
                retainHandling: 0,
              },
            ],
          },
          4,
        ),
      );
      await sleep(20);
      s.pause(); // reads nothing more: the broker's writes pile up
      subscribers.push(s);
    }
    count('stalled subscribers', subscribers.length);
    const payload = Buffer.alloc(1024, 0x73);
    await loops(1, async () => {
      const s = await open(t.plainPort);
      if (s === undefined) return;
      await write(s, connectPacket('slow-publisher'));
      let id = 0;
      while (running) {
        id = (id % 65_535) + 1;
        const qos = id % 2 === 0 ? 0 : 1;
        const packet = encodePacket(
          {
            type: 'publish',
            topic: 'slow/x',
            payload,
            qos,
            retain: false,
            dup: false,
            packetId: qos ? id : undefined,
          },
          4,
        );
        if (!(await write(s, packet))) break;
        count('published');
      }
    });
    for (const s of subscribers) {
      if (s.destroyed) count('stalled subscribers closed by the broker');
      s.destroy();
    }
  },

  // The socket fuzzer's mutated streams, 20 at a time.
  async fuzz(t) {
    const samples = corpus(1);
    let index = 0;
    await loops(20, async () => {
      const byBroker = await fuzzStream(t.plainPort, samples, 1, index++);
      count(byBroker ? 'streams closed by the broker' : 'streams left open');
    });
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const name = process.argv[2] as CaseName;
  const target = JSON.parse(process.argv[3]!) as Target;
  const attack = ATTACKS[name];
  if (attack === undefined) throw new Error(`no case ${name}: ${CASES.join(', ')}`);
  process.on('SIGTERM', () => {
    running = false;
  });
  if (name !== 'slowloris') ready();
  const done = attack(target);
  await Promise.race([done, new Promise((resolve) => process.once('SIGTERM', resolve))]);
  running = false;
  await Promise.race([done, sleep(3000)]);
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  process.exit(0);
}
