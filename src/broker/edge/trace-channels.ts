// Per-packet tracing through named node:diagnostics_channel channels: anyone in the process may
// subscribe (an APM agent, a test, a debugging session); with no subscriber each point costs one
// property read. Published at the edge, where packets are decoded and encoded.
//
//   warden:packet:in / warden:packet:out   { remote, packet }
//   warden:connection:open                 { remote, tls? }
//   warden:connection:close                { remote }
//   warden:tls:handshake                   { listener, remote, admitted, reason?, alert?, protocol? }

import { channel } from 'node:diagnostics_channel';

export const traces = {
  packetIn: channel('warden:packet:in'),
  packetOut: channel('warden:packet:out'),
  connectionOpen: channel('warden:connection:open'),
  connectionClose: channel('warden:connection:close'),
  tlsHandshake: channel('warden:tls:handshake'),
};
