// CONNECT as a named list of steps over one context: protocol version, client id, will, session,
// CONNACK, resume. A refusal answers CONNACK with the code for the client's version, then closes.

import {
  type ConnectPacket,
  ConnectReturnCode,
  encodePacket,
  type Properties,
  ReasonCode,
  validateTopicName,
} from '../../../protocol/index.js';
import type { Message } from '../message.js';
import type { PeerLimits } from '../outbound-flow.js';
import type { AuthenticationResult } from '../ports.js';
import { NEVER_EXPIRES, type Session, type SessionOwner } from '../session.js';
import { exceedsTopicLevels } from '../topic-levels.js';
import type { ConnectionContext, ConnectOutcome } from './context.js';

interface ConnectStepContext {
  readonly ctx: ConnectionContext;
  readonly packet: ConnectPacket;
  readonly owner: SessionOwner;
  readonly authentication: AuthenticationResult;
  clientId: string;
  assignedClientId: boolean;
  /** The user name the client is known by: the certificate's, else the CONNECT one. */
  username: string | undefined;
  will: Message | undefined;
  session?: Session;
  sessionPresent: boolean;
  /** The keep alive in force, seconds; told to v5 clients when it differs from theirs. */
  keepAlive: number;
  /** v5: what CONNACK tells the client, decided before the session opens. */
  connackProperties?: Properties;
}

/**
 * A step returns a refusal (v5 reason code and words) or nothing to go on. `v3: 'close'`: a
 * protocol violation with no 3.1.1 return code, answered by closing [MQTT-4.8.0-1]; a code
 * such as 0x03 "server unavailable" would send a device into retry loops against a good broker.
 */
type Refusal = {
  readonly v5: number | 'close';
  readonly v3: number | 'close';
  readonly reason: string;
};
type ConnectStep = (c: ConnectStepContext) => Refusal | undefined;

/** Mosquitto's max_connections, per listener; answered with a code rather than a bare close. */
const admit: ConnectStep = (c) => {
  const listener = c.ctx.listener;
  if (listener.connected < listener.maxConnections) return undefined;
  return {
    v5: ReasonCode.QuotaExceeded,
    v3: ConnectReturnCode.ServerUnavailable,
    reason: `listener ${listener.name} has its maximum of ${listener.maxConnections} clients connected`,
  };
};

/** The listener's authenticator answered before the steps ran (it may be asynchronous). */
const authenticate: ConnectStep = (c) => {
  const result = c.authentication;
  if (result.verdict === 'allow') {
    c.username = result.username;
    return undefined;
  }
  const given =
    result.verdict === 'deny' ? (result.reasonCode ?? ReasonCode.NotAuthorized) : ReasonCode.NotAuthorized;
  // Mosquitto 2.0 tells a wrong password "not authorised" too (refusedLoginCode: notAuthorized).
  const v5 =
    given === ReasonCode.BadUserNameOrPassword && c.ctx.core.options.refusedLoginCode === 'notAuthorized'
      ? ReasonCode.NotAuthorized
      : given;
  return {
    v5,
    v3:
      v5 === ReasonCode.BadUserNameOrPassword
        ? ConnectReturnCode.BadUserNameOrPassword
        : ConnectReturnCode.NotAuthorized,
    reason: result.verdict === 'deny' ? result.reason : 'every authenticator deferred',
  };
};

/** A certificate that names the client id: it replaces the CONNECT one, or must equal it. */
const certificateClientId: ConnectStep = (c) => {
  const identity = c.ctx.identity;
  if (identity?.clientId === undefined || identity.clientId === c.packet.clientId) return undefined;
  if (identity.requireClientIdMatch) {
    return {
      v5: ReasonCode.ClientIdentifierNotValid,
      v3: ConnectReturnCode.IdentifierRejected,
      reason: `client id "${c.packet.clientId}" is not the certificate identity "${identity.clientId}"`,
    };
  }
  c.clientId = identity.clientId;
  c.assignedClientId = true;
  return undefined;
};

/** use_username_as_clientid: the user name, as authenticated, is the client id. */
const usernameClientId: ConnectStep = (c) => {
  if (!c.ctx.listener.useUsernameAsClientId) return undefined;
  if (c.username === undefined || c.username === '') {
    return {
      v5: ReasonCode.NotAuthorized,
      v3: ConnectReturnCode.NotAuthorized,
      reason: 'no user name, and the user name is the client id on this listener',
    };
  }
  if (c.username === c.clientId) return undefined;
  c.clientId = c.username;
  c.assignedClientId = true;
  return undefined;
};

const assignClientId: ConnectStep = (c) => {
  if (c.clientId !== '') return undefined;
  // [MQTT-3.1.3-6], [MQTT-3.1.3-8]: an empty id is assigned on v5, and on 3.1.1 with a clean session.
  const mayAssign =
    c.ctx.core.options.allowZeroLengthClientId &&
    (c.packet.protocolVersion === 5 || (c.packet.protocolVersion === 4 && c.packet.clean));
  if (!mayAssign) {
    return {
      v5: ReasonCode.ClientIdentifierNotValid,
      v3: ConnectReturnCode.IdentifierRejected,
      reason: c.ctx.core.options.allowZeroLengthClientId
        ? 'empty client id without a clean session'
        : 'empty client id, and allow_zero_length_clientid is false',
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
  if (problem) return { v5: ReasonCode.TopicNameInvalid, v3: 'close', reason: `will: ${problem}` };
  if (w.retain && !c.ctx.core.options.retainAvailable) {
    return {
      v5: ReasonCode.RetainNotSupported,
      v3: ConnectReturnCode.ServerUnavailable,
      reason: 'will asks to be retained and retained messages are not available',
    };
  }
  if (exceedsTopicLevels(w.topic, c.ctx.core.options.maxTopicLevels)) {
    return {
      v5: ReasonCode.TopicNameInvalid,
      v3: ConnectReturnCode.ServerUnavailable,
      reason: `will topic has more than ${c.ctx.core.options.maxTopicLevels} levels`,
    };
  }
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
  // v5: the Session Expiry Interval; v3: a clean session ends with its connection, a persistent
  // one never expires (Mosquitto's default without persistent_client_expiration).
  const asked =
    c.packet.protocolVersion === 5
      ? (c.packet.properties?.sessionExpiryInterval ?? 0)
      : c.packet.clean
        ? 0
        : NEVER_EXPIRES;
  // persistent_client_expiration caps it, as mosquitto does, without telling the client.
  const cap = c.ctx.core.options.maxSessionExpiry;
  const expiryInterval = cap > 0 && asked > cap ? cap : asked;
  const { session, present } = c.ctx.core.openSession(c.clientId, c.packet.clean, c.owner, {
    expiryInterval,
    username: c.username,
    will: c.will,
  });
  c.session = session;
  c.sessionPresent = present;
  return undefined;
};

/** Keep alive 0 or above the maximum: v5 clients are told the maximum, v3 clients are refused. */
const negotiateKeepAlive: ConnectStep = (c) => {
  const max = c.ctx.core.options.maxKeepAlive;
  const asked = c.packet.keepAlive;
  if (asked !== 0 && asked <= max) return undefined;
  if (c.packet.protocolVersion === 5) {
    c.keepAlive = max;
    return undefined;
  }
  if (asked === 0 && max === 65_535) return undefined;
  // Mosquitto answers v3 clients this way: they cannot be told another keep alive.
  return {
    v5: ReasonCode.ClientIdentifierNotValid,
    v3: ConnectReturnCode.IdentifierRejected,
    reason: `keep alive ${asked} s is outside 1..${max} s`,
  };
};

/**
 * v5: the CONNACK must fit the client's Maximum Packet Size [MQTT-3.1.2-24]. Every property it
 * carries is needed (there is no reason string or user property to leave out), so a CONNACK that
 * does not fit cannot be sent: the connection is closed before any session is opened.
 */
const fitConnack: ConnectStep = (c) => {
  if (c.packet.protocolVersion !== 5) return undefined;
  const enhanced = c.authentication.verdict === 'allow' ? c.authentication.authentication : undefined;
  c.connackProperties = {
    ...connackProperties(c),
    ...(enhanced && { authenticationMethod: enhanced.method, authenticationData: enhanced.data }),
  };
  const limit = c.packet.properties?.maximumPacketSize;
  if (limit === undefined) return undefined;
  const size = encodePacket(
    { type: 'connack', sessionPresent: false, reasonCode: 0, properties: c.connackProperties },
    5,
  ).length;
  if (size <= limit) return undefined;
  return {
    v5: 'close',
    v3: 'close',
    reason: `the CONNACK (${size} bytes) exceeds the client's Maximum Packet Size (${limit})`,
  };
};

/** Up to the session: in a cluster, the client id is claimed from the other nodes after these. */
const connectSteps: readonly ConnectStep[] = [
  admit,
  authenticate,
  certificateClientId,
  usernameClientId,
  assignClientId,
  acceptWill,
  negotiateKeepAlive,
  fitConnack,
];

/** What a v5 CONNACK tells the client about this server [MQTT-3.2.2.3]. */
function connackProperties(c: ConnectStepContext): Properties {
  const o = c.ctx.core.options;
  const props: { -readonly [K in keyof Properties]: Properties[K] } = {};
  if (c.assignedClientId) props.assignedClientIdentifier = c.clientId;
  if (c.keepAlive !== c.packet.keepAlive) props.serverKeepAlive = c.keepAlive;
  if (o.receiveMaximum < 65_535) props.receiveMaximum = o.receiveMaximum;
  if (o.maxQos < 2) props.maximumQoS = o.maxQos;
  if (o.maxPacketSize > 0) props.maximumPacketSize = o.maxPacketSize;
  if (o.topicAliasMaximum > 0) props.topicAliasMaximum = o.topicAliasMaximum;
  if (!o.retainAvailable) props.retainAvailable = 0;
  return props;
}

/** What the client asked of us in CONNECT: how much we may send it, and how. */
function peerLimits(c: ConnectStepContext): PeerLimits {
  const p = c.packet.properties;
  return {
    sendWindow: Math.min(p?.receiveMaximum ?? 65_535, c.ctx.core.options.maxInflight),
    maximumPacketSize: p?.maximumPacketSize ?? Number.POSITIVE_INFINITY,
    topicAliasMaximum: c.packet.protocolVersion === 5 ? (p?.topicAliasMaximum ?? 0) : 0,
  };
}

/**
 * Runs the steps; returns the outcome, or undefined after refusing the client. In a cluster, a
 * Promise of them: the session opens once this node owns the client id.
 */
export function handleConnect(
  ctx: ConnectionContext,
  packet: ConnectPacket,
  owner: SessionOwner,
  authentication: AuthenticationResult,
): ConnectOutcome | undefined | Promise<ConnectOutcome | undefined> {
  const c: ConnectStepContext = {
    ctx,
    packet,
    owner,
    authentication,
    clientId: packet.clientId,
    assignedClientId: false,
    username: packet.username,
    will: undefined,
    sessionPresent: false,
    keepAlive: packet.keepAlive,
  };
  for (const step of connectSteps) {
    const refusal = step(c);
    if (refusal) return refuse(c, refusal);
  }
  const cluster = ctx.core.options.cluster;
  if (cluster === undefined) return accept(c);
  return cluster.claim(c.clientId).then((problem) => {
    if (ctx.isClosed()) return undefined; // gone while the cluster answered
    if (problem === undefined) return accept(c);
    return refuse(c, {
      v5: ReasonCode.ServerUnavailable,
      v3: ConnectReturnCode.ServerUnavailable,
      reason: problem,
    });
  });
}

function refuse(c: ConnectStepContext, refusal: Refusal): undefined {
  c.ctx.core.stats.connectionsRefused++;
  c.ctx.logger.info({ clientId: c.packet.clientId, reason: refusal.reason }, 'connection refused');
  const reasonCode = c.packet.protocolVersion === 5 ? refusal.v5 : refusal.v3;
  if (reasonCode !== 'close') c.ctx.send({ type: 'connack', sessionPresent: false, reasonCode });
  return undefined;
}

/** Opens the session and answers CONNACK once the session as opened is durable. */
function accept(c: ConnectStepContext): ConnectOutcome {
  openSession(c);
  // A clean start's discarding included. MQTT 3.1 (level 3) has no Session Present flag: that
  // byte is reserved there.
  const sessionPresent = c.packet.protocolVersion !== 3 && c.sessionPresent;
  c.ctx.acknowledge({ type: 'connack', sessionPresent, reasonCode: 0, properties: c.connackProperties });
  return {
    version: c.packet.protocolVersion,
    session: c.session!,
    username: c.username,
    keepAlive: c.keepAlive,
    will: c.will,
    limits: peerLimits(c),
  };
}
