// Inbound PUBLISH: topic checks, then QoS 0 route, QoS 1 route + PUBACK, QoS 2 route once per
// packet id + PUBREC (exactly once: a resend before PUBREL is not routed again [MQTT-4.3.3-10]).

import { type PublishPacket, ReasonCode, validateTopicName } from '../../../protocol/index.js';
import { forwardedProperties, withExpiry } from '../message.js';
import type { ConnectedContext } from './context.js';

export function handlePublish(ctx: ConnectedContext, p: PublishPacket): void {
  if (p.properties?.topicAlias !== undefined) {
    // CONNACK announced no Topic Alias Maximum, so the client may send none [MQTT-3.3.2-9].
    ctx.disconnect(ReasonCode.TopicAliasInvalid, 'topic alias sent but Topic Alias Maximum is 0');
    return;
  }
  const problem = validateTopicName(p.topic);
  if (problem) {
    ctx.disconnect(ReasonCode.TopicNameInvalid, problem);
    return;
  }
  const session = ctx.session;
  const message = withExpiry(
    {
      topic: p.topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      properties: forwardedProperties(p.properties),
    },
    ctx.core.options.clock.now(),
  );
  switch (p.qos) {
    case 0:
      ctx.core.publish(message, session);
      return;
    case 1: {
      const routed = ctx.core.publish(message, session);
      ctx.send({ type: 'puback', packetId: p.packetId!, reasonCode: ackCode(ctx, routed) });
      return;
    }
    case 2: {
      const id = p.packetId!;
      let routed = 1;
      if (!session.inboundQos2.has(id)) {
        session.inboundQos2.add(id);
        routed = ctx.core.publish(message, session);
      }
      ctx.send({ type: 'pubrec', packetId: id, reasonCode: ackCode(ctx, routed) });
    }
  }
}

/** v5 tells the publisher when no one subscribed (0x10); v3 has no reason codes. */
function ackCode(ctx: ConnectedContext, routed: number): number | undefined {
  if (ctx.version !== 5) return undefined;
  return routed === 0 ? ReasonCode.NoMatchingSubscribers : undefined;
}
