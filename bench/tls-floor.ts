// The floor for any Node.js MQTT/TLS broker: a bare Node TLS server that answers every CONNECT
// with CONNACK 0 and does nothing else. Run by tls.bench.ts as: node tls-floor.js <port> <cert> <key> [ca]
// (with a CA file: client certificates required, verified by OpenSSL, as rejectUnauthorized does).

import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const [port, cert, key, ca] = process.argv.slice(2);
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const clientCertificates = ca ? { ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true } : {};
createServer(
  { cert: readFileSync(cert!), key: readFileSync(key!), minVersion: 'TLSv1.2', ...clientCertificates },
  (socket) => {
    socket.setNoDelay(true);
    // The first bytes are the CONNECT (packet type 1): answered once, whatever it says.
    socket.once('data', () => socket.write(CONNACK));
    socket.on('error', () => undefined);
  },
).listen(Number(port), '127.0.0.1');
