// Acknowledgements of the QoS 1 and 2 flows in both directions [MQTT-4.3.2], [MQTT-4.3.3]. The
// session changes its state and names the answer; the answer goes out once that change is durable.

import { type PubAckPacket, ReasonCode } from '../../../protocol/index.js';
import type { ConnectedContext } from './context.js';

type Ack = PubAckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>;

export function handleAck(ctx: ConnectedContext, p: Ack): void {
  const session = ctx.session;
  switch (p.type) {
    case 'puback':
      if (session.complete(p.packetId, 'puback')) ctx.acknowledged();
      return;
    case 'pubrec': {
      // A PUBREC with an error reason ends the flow [MQTT-4.3.3-4 (v5)].
      if ((p.reasonCode ?? 0) >= 0x80) {
        if (session.complete(p.packetId, 'pubrec')) ctx.acknowledged();
        return;
      }
      const { found, ...pubrel } = session.received(p.packetId);
      ctx.acknowledge({ ...pubrel, reasonCode: notFound(ctx, found) });
      return;
    }
    case 'pubrel': {
      const { found, ...pubcomp } = session.release(p.packetId);
      ctx.acknowledge({ ...pubcomp, reasonCode: notFound(ctx, found) });
      return;
    }
    case 'pubcomp':
      if (session.complete(p.packetId, 'pubcomp')) ctx.acknowledged();
  }
}

function notFound(ctx: ConnectedContext, found: boolean): number | undefined {
  return ctx.version === 5 && !found ? ReasonCode.PacketIdentifierNotFound : undefined;
}
