// The CONNECT a client sends, from its options: pure, so what goes on the wire for a given set of
// options is plain to see (and the password is passed through, never kept elsewhere).

import type { ConnectPacket, ProtocolVersion } from '../protocol/index.js';
import type { ConnectOptions } from './client-options.js';
import type { ClientAuthExchange, ClientAuthMethod } from './scram-client.js';

export function connectPacket(
  options: ConnectOptions,
  version: ProtocolVersion,
  clientId: string,
  method: ClientAuthMethod | undefined,
  exchange: ClientAuthExchange | undefined,
): ConnectPacket {
  const will = options.will;
  return {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: version,
    clean: options.clean ?? true,
    keepAlive: options.keepAlive ?? 60,
    clientId,
    ...(options.bridge && version !== 5 && { bridge: true }),
    username: options.username,
    password: typeof options.password === 'string' ? Buffer.from(options.password) : options.password,
    will: will && {
      topic: will.topic,
      payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
      qos: will.qos ?? 0,
      retain: will.retain ?? false,
      properties: will.properties,
    },
    properties:
      version === 5
        ? {
            ...(options.sessionExpiryInterval !== undefined && {
              sessionExpiryInterval: options.sessionExpiryInterval,
            }),
            ...(options.userProperties && { userProperties: options.userProperties }),
            ...(options.maxInflight !== undefined && { receiveMaximum: options.maxInflight }),
            ...(method &&
              exchange && { authenticationMethod: method.method, authenticationData: exchange.initial }),
          }
        : undefined,
  };
}
