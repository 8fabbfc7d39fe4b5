// Inbound PUBLISH: topic checks, authorization, then QoS 0 route, QoS 1 route + PUBACK, QoS 2
// route once per packet id + PUBREC (exactly once: a resend before PUBREL is not routed again
// [MQTT-4.3.3-10]). A refused PUBLISH is acknowledged with 0x87 on v5 and dropped silently on
// 3.1.1, as Mosquitto does; writes to $SYS are always refused.

import { type PublishPacket, ReasonCode, validateTopicName } from '../../../protocol/index.js';
import { countDenial } from '../broker-stats.js';
import { forwardedProperties, withExpiry } from '../message.js';
import { exceedsTopicLevels } from '../topic-levels.js';
import type { ConnectedContext } from './context.js';

/** Undefined when done; a Promise when an authorization hook is deciding. */
/**
 * The one $SYS topic a client may write (the ACL still applies), as in mosquitto: a bridge's
 * link state, which a bridge publishes on the remote broker and leaves as its will.
 */
const BRIDGE_STATE = /^\$SYS\/broker\/connection\/[^/+#]+\/state$/;

export function handlePublish(ctx: ConnectedContext, p: PublishPacket): Promise<void> | undefined {
  const topic = resolveTopic(ctx, p);
  if (topic === undefined) return;
  const options = ctx.core.options;
  const problem =
    validateTopicName(topic) ??
    (exceedsTopicLevels(topic, options.maxTopicLevels)
      ? `topic has more than ${options.maxTopicLevels} levels`
      : undefined);
  if (problem) {
    ctx.disconnect(ReasonCode.TopicNameInvalid, problem);
    return;
  }
  if (p.retain && !options.retainAvailable) {
    // [MQTT-3.3.1-14 (v5)]: the CONNACK said Retain Available 0.
    ctx.disconnect(ReasonCode.RetainNotSupported, 'retained messages are not available on this broker');
    return;
  }
  const session = ctx.session;
  if ((topic === '$SYS' || topic.startsWith('$SYS/')) && !BRIDGE_STATE.test(topic))
    return refuse(ctx, p, 'the broker alone writes $SYS topics');
  const authorizer = ctx.listener.authorizer;
  if (authorizer === undefined) return route(ctx, p, topic);
  const verdict = authorizer.authorize({
    action: 'publish',
    topic,
    username: session.username,
    clientId: session.clientId,
    qos: p.qos,
    retain: p.retain,
  });
  if (typeof verdict === 'string') return decided(ctx, p, topic, verdict);
  return verdict.then((v) => decided(ctx, p, topic, v));
}

function decided(ctx: ConnectedContext, p: PublishPacket, topic: string, verdict: string): undefined {
  return verdict === 'allow' ? route(ctx, p, topic) : refuse(ctx, p, `not authorized to publish to ${topic}`);
}

function refuse(ctx: ConnectedContext, p: PublishPacket, reason: string): undefined {
  countDenial(ctx.core.stats, 'publish');
  ctx.logger.debug({ topic: p.topic, reason }, 'publish refused');
  const reasonCode = ctx.version === 5 ? ReasonCode.NotAuthorized : undefined;
  if (p.qos === 1) ctx.acknowledge({ type: 'puback', packetId: p.packetId!, reasonCode });
  if (p.qos === 2) {
    // v3.1.1 goes on to PUBREL/PUBCOMP as if delivered; a v5 PUBREC >= 0x80 ends the flow.
    if (ctx.version !== 5) ctx.session.receiveQos2(p.packetId!);
    ctx.acknowledge({ type: 'pubrec', packetId: p.packetId!, reasonCode });
  }
  return undefined;
}

/** v5 QoS 1/2: the message is refused with 0x97 and routed nowhere. */
function quotaExceeded(ctx: ConnectedContext, p: PublishPacket): undefined {
  const reasonCode = ReasonCode.QuotaExceeded;
  if (p.qos === 1) ctx.acknowledge({ type: 'puback', packetId: p.packetId!, reasonCode });
  else ctx.acknowledge({ type: 'pubrec', packetId: p.packetId!, reasonCode });
  return undefined;
}

function route(ctx: ConnectedContext, p: PublishPacket, topic: string): undefined {
  const session = ctx.session;
  let retain = p.retain;
  if (retain && ctx.core.retainedFull(topic, p.payload.length)) {
    ctx.core.stats.quotaRefusals.retained++;
    ctx.logOnce('retained-quota', { topic }, 'retained message not kept: the broker holds its maximum');
    if (ctx.version === 5 && p.qos > 0) return quotaExceeded(ctx, p);
    retain = false; // delivered to the subscribers there are, not kept
  }
  if (
    p.qos === 2 &&
    !session.inboundQos2.has(p.packetId!) &&
    session.inboundQos2.size >= ctx.core.options.receiveMaximum
  ) {
    // [MQTT-3.3.4-9]: more QoS 2 messages awaiting PUBREL than our Receive Maximum.
    ctx.disconnect(
      ReasonCode.ReceiveMaximumExceeded,
      `more than ${ctx.core.options.receiveMaximum} QoS 2 messages in flight`,
    );
    return;
  }
  const message = withExpiry(
    {
      topic,
      payload: p.payload,
      qos: p.qos,
      retain,
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
      // Sent once the message is durable in every persistent session it went to.
      ctx.acknowledge({ type: 'puback', packetId: p.packetId!, reasonCode: ackCode(ctx, routed) });
      return;
    }
    case 2: {
      const id = p.packetId!;
      const routed = session.receiveQos2(id) ? ctx.core.publish(message, session) : 1;
      ctx.acknowledge({ type: 'pubrec', packetId: id, reasonCode: ackCode(ctx, routed) });
    }
  }
}

/** v5 tells the publisher when no one subscribed (0x10); v3 has no reason codes. */
function ackCode(ctx: ConnectedContext, routed: number): number | undefined {
  if (ctx.version !== 5) return undefined;
  return routed === 0 ? ReasonCode.NoMatchingSubscribers : undefined;
}

/**
 * The topic a PUBLISH is for, through the client's topic aliases [MQTT-3.3.2-10..12]; undefined
 * after refusing an alias out of range or unknown.
 */
function resolveTopic(ctx: ConnectedContext, p: PublishPacket): string | undefined {
  const alias = p.properties?.topicAlias;
  if (alias === undefined) return p.topic;
  const max = ctx.core.options.topicAliasMaximum;
  if (alias > max) {
    ctx.disconnect(
      ReasonCode.TopicAliasInvalid,
      `topic alias ${alias} is above the Topic Alias Maximum ${max}`,
    );
    return undefined;
  }
  if (p.topic !== '') {
    ctx.inboundAliases.set(alias, p.topic);
    return p.topic;
  }
  const known = ctx.inboundAliases.get(alias);
  if (known === undefined)
    ctx.disconnect(ReasonCode.ProtocolError, `topic alias ${alias} was never set on this connection`);
  return known;
}
