// SUBSCRIBE and UNSUBSCRIBE: one reason code per filter (a filter authorization refuses gets 0x80
// on 3.1.1, 0x87 on v5), then the retained messages the new subscriptions ask for (v5 Retain
// Handling) [MQTT-3.8.4], [MQTT-3.10.4].

import {
  parseSharedSubscription,
  ReasonCode,
  SubackFailure,
  type SubscribePacket,
  type UnsubscribePacket,
  validateTopicFilter,
} from '../../../protocol/index.js';
import { countDenial } from '../broker-stats.js';
import type { Message } from '../message.js';
import type { AuthorizationVerdict } from '../ports.js';
import { exceedsTopicLevels } from '../topic-levels.js';
import type { ConnectedContext } from './context.js';

/** Undefined when done; a Promise when an authorization hook is deciding. */
export function handleSubscribe(ctx: ConnectedContext, p: SubscribePacket): Promise<void> | undefined {
  const authorizer = ctx.listener.authorizer;
  if (authorizer === undefined) return subscribe(ctx, p, undefined);
  const verdicts = p.subscriptions.map((s) =>
    authorizer.authorize({
      action: 'subscribe',
      // A shared subscription is judged by the topics it receives, as Mosquitto does.
      topic: parseSharedSubscription(s.topicFilter)?.topicFilter ?? s.topicFilter,
      username: ctx.session.username,
      clientId: ctx.session.clientId,
      qos: s.qos,
      retain: false,
    }),
  );
  if (verdicts.every((v) => typeof v === 'string'))
    return subscribe(ctx, p, verdicts as AuthorizationVerdict[]);
  return Promise.all(verdicts).then((settled) => subscribe(ctx, p, settled));
}

function subscribe(
  ctx: ConnectedContext,
  p: SubscribePacket,
  verdicts: readonly AuthorizationVerdict[] | undefined,
): undefined {
  const v5 = ctx.version === 5;
  const subscriptionIdentifier = p.properties?.subscriptionIdentifiers?.[0];
  const reasonCodes: number[] = [];
  const retained: Array<{ message: Message; qos: 0 | 1 | 2 }> = [];
  for (const [index, s] of p.subscriptions.entries()) {
    if (s.topicFilter === '') {
      // [MQTT-4.7.3-1]: a zero-length topic filter is a protocol violation, not a refusal.
      ctx.disconnect(ReasonCode.ProtocolError, 'zero-length topic filter [MQTT-4.7.3-1]');
      return;
    }
    const maxLevels = ctx.core.options.maxTopicLevels;
    const problem =
      validateTopicFilter(s.topicFilter) ??
      (exceedsTopicLevels(s.topicFilter, maxLevels) ? `more than ${maxLevels} levels` : undefined);
    if (problem) {
      ctx.logger.debug({ filter: s.topicFilter, problem }, 'subscription refused');
      reasonCodes.push(v5 ? ReasonCode.TopicFilterInvalid : SubackFailure);
      continue;
    }
    if (verdicts !== undefined && verdicts[index] !== 'allow') {
      countDenial(ctx.core.stats, 'subscribe');
      ctx.logger.debug({ filter: s.topicFilter }, 'subscription not authorized');
      reasonCodes.push(v5 ? ReasonCode.NotAuthorized : SubackFailure);
      continue;
    }
    const shared = parseSharedSubscription(s.topicFilter) !== undefined;
    if (shared && s.noLocal) {
      // [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
      ctx.disconnect(ReasonCode.ProtocolError, `No Local set on shared subscription ${s.topicFilter}`);
      return;
    }
    const max = ctx.core.options.maxSubscriptionsPerClient;
    if (max > 0 && ctx.session.subscriptions.size >= max && !ctx.session.subscriptions.has(s.topicFilter)) {
      ctx.core.stats.quotaRefusals.subscriptions++;
      ctx.logOnce(
        'subscription-quota',
        { filter: s.topicFilter, max },
        'subscription refused: the client holds its maximum',
      );
      reasonCodes.push(v5 ? ReasonCode.QuotaExceeded : SubackFailure);
      continue;
    }
    const qos = Math.min(s.qos, ctx.core.options.maxQos) as 0 | 1 | 2;
    const isNew = ctx.core.subscribe(ctx.session, s.topicFilter, {
      qos,
      noLocal: s.noLocal || (ctx.bridge && !shared),
      retainAsPublished: s.retainAsPublished || ctx.bridge,
      subscriptionIdentifier,
    });
    reasonCodes.push(qos);
    // No retained messages for a new shared subscription (MQTT 5.0 4.8.2).
    if (!shared && (s.retainHandling === 0 || (s.retainHandling === 1 && isNew))) {
      for (const message of ctx.core.retainedMatching(s.topicFilter)) retained.push({ message, qos });
    }
  }
  ctx.acknowledge({ type: 'suback', packetId: p.packetId, reasonCodes });
  const { mayReceive } = ctx.session;
  // check_retain_source: the publisher of a retained message may have lost the right since.
  const sourceMayPublish = ctx.core.options.checkRetainSource
    ? ctx.listener.authorizer?.publishCheck
    : undefined;
  for (const { message, qos } of retained) {
    if (mayReceive !== undefined && !mayReceive(message.topic)) continue;
    const source = message.source;
    if (sourceMayPublish && source && !sourceMayPublish(source.username, source.clientId, message.topic)) {
      ctx.logger.debug(
        { topic: message.topic, source: source.clientId },
        'retained message withheld: its publisher may no longer publish there',
      );
      continue;
    }
    // Retained messages sent on subscribe keep their retain flag [MQTT-3.3.1-9].
    ctx.session.deliver(
      message,
      {
        qos: Math.min(qos, message.qos) as 0 | 1 | 2,
        retain: true,
        subscriptionIdentifiers: subscriptionIdentifier === undefined ? undefined : [subscriptionIdentifier],
      },
      ctx.core.stats,
    );
  }
}

export function handleUnsubscribe(ctx: ConnectedContext, p: UnsubscribePacket): void {
  const reasonCodes = p.topicFilters.map((filter) =>
    ctx.core.unsubscribe(ctx.session, filter) ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted,
  );
  ctx.acknowledge({
    type: 'unsuback',
    packetId: p.packetId,
    reasonCodes: ctx.version === 5 ? reasonCodes : undefined,
  });
}
