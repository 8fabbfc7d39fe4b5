// CONNECT as a named list of steps over one context: protocol version, client id, will, session,
// CONNACK, resume. A refusal answers CONNACK with the code for the client's version, then closes.

import {
  type ConnectPacket,
  ConnectReturnCode,
  type Properties,
  ReasonCode,
  validateTopicName,
} from '../../../protocol/index.js';
import type { Message } from '../message.js';
import { NEVER_EXPIRES, type Session, type SessionOwner } from '../session.js';
import type { ConnectionContext, ConnectOutcome } from './context.js';

interface ConnectStepContext {
  readonly ctx: ConnectionContext;
  readonly packet: ConnectPacket;
  readonly owner: SessionOwner;
  clientId: string;
  assignedClientId: boolean;
  will: Message | undefined;
  session?: Session;
  sessionPresent: boolean;
}

/** A step returns a refusal (v5 reason code and words) or nothing to go on. */
type Refusal = { readonly v5: number; readonly v3: number; readonly reason: string };
type ConnectStep = (c: ConnectStepContext) => Refusal | undefined;

const assignClientId: ConnectStep = (c) => {
  if (c.packet.clientId !== '') return undefined;
  // [MQTT-3.1.3-6], [MQTT-3.1.3-8]: an empty id is assigned on v5, and on 3.1.1 with a clean session.
  const mayAssign = c.packet.protocolVersion === 5 || (c.packet.protocolVersion === 4 && c.packet.clean);
  if (!mayAssign) {
    return {
      v5: ReasonCode.ClientIdentifierNotValid,
      v3: ConnectReturnCode.IdentifierRejected,
      reason: 'empty client id without a clean session',
    };
  }
  c.clientId = c.ctx.core.options.newClientId();
  c.assignedClientId = true;
  return undefined;
};

const acceptWill: ConnectStep = (c) => {
  const w = c.packet.will;
  if (w === undefined) return undefined;
  const problem = validateTopicName(w.topic);
  if (problem)
    return {
      v5: ReasonCode.TopicNameInvalid,
      v3: ConnectReturnCode.ServerUnavailable,
      reason: `will: ${problem}`,
    };
  c.will = {
    topic: w.topic,
    payload: Buffer.from(w.payload),
    qos: w.qos,
    retain: w.retain,
    properties: w.properties,
  };
  return undefined;
};

const openSession: ConnectStep = (c) => {
  const { session, present } = c.ctx.core.openSession(c.clientId, c.packet.clean, c.owner);
  // v5: the Session Expiry Interval; v3: a clean session ends with its connection, a persistent
  // one never expires (Mosquitto's default without persistent_client_expiration).
  session.expiryInterval =
    c.packet.protocolVersion === 5
      ? (c.packet.properties?.sessionExpiryInterval ?? 0)
      : c.packet.clean
        ? 0
        : NEVER_EXPIRES;
  c.session = session;
  c.sessionPresent = present;
  return undefined;
};

const connectSteps: readonly ConnectStep[] = [assignClientId, acceptWill, openSession];

/** Runs the steps; returns the outcome, or undefined after refusing the client. */
export function handleConnect(
  ctx: ConnectionContext,
  packet: ConnectPacket,
  owner: SessionOwner,
): ConnectOutcome | undefined {
  const c: ConnectStepContext = {
    ctx,
    packet,
    owner,
    clientId: packet.clientId,
    assignedClientId: false,
    will: undefined,
    sessionPresent: false,
  };
  for (const step of connectSteps) {
    const refusal = step(c);
    if (refusal) {
      ctx.logger.info({ clientId: packet.clientId, reason: refusal.reason }, 'connection refused');
      ctx.send({
        type: 'connack',
        sessionPresent: false,
        reasonCode: packet.protocolVersion === 5 ? refusal.v5 : refusal.v3,
      });
      return undefined;
    }
  }
  const properties: Properties | undefined =
    packet.protocolVersion === 5
      ? {
          ...(c.assignedClientId ? { assignedClientIdentifier: c.clientId } : {}),
          // Shared subscriptions arrive with the full broker core; say so until then.
          sharedSubscriptionAvailable: 0,
        }
      : undefined;
  ctx.send({ type: 'connack', sessionPresent: c.sessionPresent, reasonCode: 0, properties });
  return { version: packet.protocolVersion, session: c.session!, keepAlive: packet.keepAlive, will: c.will };
}
