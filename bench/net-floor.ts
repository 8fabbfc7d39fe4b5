// The floor for any Node.js MQTT broker over TCP: a bare `net` server that answers every CONNECT
// with CONNACK 0 and does nothing else. broker.bench.ts runs this source with `node -e`, so the
// floor pays for no TypeScript loader: its whole-process RSS is what plain Node holds.

export const NET_FLOOR_SOURCE = `
const { createServer } = require('node:net');
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
createServer((socket) => {
  socket.setNoDelay(true);
  // The first bytes are the CONNECT (packet type 1): answered once, whatever it says.
  socket.once('data', () => socket.write(CONNACK));
  socket.on('error', () => undefined);
}).listen(Number(process.argv[1]), '127.0.0.1');
`;
