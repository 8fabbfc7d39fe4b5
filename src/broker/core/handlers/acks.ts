// Acknowledgements of the QoS 1 and 2 flows in both directions [MQTT-4.3.2], [MQTT-4.3.3].

import { type PubAckPacket, ReasonCode } from '../../../protocol/index.js';
import type { ConnectedContext } from './context.js';

type Ack = PubAckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>;

export function handleAck(ctx: ConnectedContext, p: Ack): void {
  const session = ctx.session;
  const outbound = session.outbound.get(p.packetId);
  switch (p.type) {
    case 'puback':
      if (outbound?.awaiting === 'puback') release(ctx, p.packetId);
      return;
    case 'pubrec': {
      // A PUBREC with an error reason ends the flow [MQTT-4.3.3-4 (v5)].
      if (outbound?.awaiting === 'pubrec' && (p.reasonCode ?? 0) >= 0x80) {
        release(ctx, p.packetId);
        return;
      }
      if (outbound?.awaiting === 'pubrec') outbound.awaiting = 'pubcomp';
      const found = outbound !== undefined;
      ctx.send({ type: 'pubrel', packetId: p.packetId, reasonCode: notFound(ctx, found) });
      return;
    }
    case 'pubrel': {
      const found = session.inboundQos2.delete(p.packetId);
      ctx.send({ type: 'pubcomp', packetId: p.packetId, reasonCode: notFound(ctx, found) });
      return;
    }
    case 'pubcomp':
      if (outbound?.awaiting === 'pubcomp') release(ctx, p.packetId);
  }
}

/** The outbound flow for this id is over: its place in the in-flight window frees up. */
function release(ctx: ConnectedContext, packetId: number): void {
  ctx.session.outbound.delete(packetId);
  ctx.acknowledged();
}

function notFound(ctx: ConnectedContext, found: boolean): number | undefined {
  return ctx.version === 5 && !found ? ReasonCode.PacketIdentifierNotFound : undefined;
}
