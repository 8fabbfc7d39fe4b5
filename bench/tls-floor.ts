// The floor for any Node.js MQTT/TLS broker: a bare Node TLS server that answers every CONNECT
// with CONNACK 0 and does nothing else. Run by tls.bench.ts as: node tls-floor.js <port> <cert> <key>

import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const [port, cert, key] = process.argv.slice(2);
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
createServer({ cert: readFileSync(cert!), key: readFileSync(key!), minVersion: 'TLSv1.2' }, (socket) => {
  socket.setNoDelay(true);
  // The first bytes are the CONNECT (packet type 1): answered once, whatever it says.
  socket.once('data', () => socket.write(CONNACK));
  socket.on('error', () => undefined);
}).listen(Number(port), '127.0.0.1');
