// What one listener (telemetry channel) asks of the clients that connect through it: how many may
// be connected at once, who may connect (its authenticator) and what they may do (its
// authorizer). The edge owns the listener; the core only reads its policy and keeps its count.

import { ReasonCode } from '../../protocol/index.js';
import type {
  AuthenticationRequest,
  AuthenticationResult,
  Authenticator,
  Authorizer,
  EnhancedAuthenticator,
} from './ports.js';

/** Failed logins answered late, per address; the composition root supplies one. */
export interface FailedLoginDelay {
  /** Records a failure and returns how long to wait before refusing, ms. */
  failed(remoteAddress: string): number;
  succeeded(remoteAddress: string): void;
}

export interface ListenerPolicy {
  /** The listener's URL, for logs and refusals (set once the listener is bound). */
  name: string;
  /** Clients connected through this listener at once; Infinity for no limit (Mosquitto's max_connections). */
  readonly maxConnections: number;
  /** Whether a client that presents no credentials may connect (Mosquitto's allow_anonymous). */
  readonly allowAnonymous: boolean;
  readonly authenticator: Authenticator;
  /** Absent: every publish, subscription and delivery is allowed. */
  readonly authorizer?: Authorizer;
  readonly failedLoginDelay?: FailedLoginDelay;
  /** MQTT 5 enhanced authentication methods offered, by name. */
  readonly enhancedAuth?: ReadonlyMap<string, EnhancedAuthenticator>;
  /** The user name replaces the client id; no user name, no entry (Mosquitto's use_username_as_clientid). */
  readonly useUsernameAsClientId: boolean;
  /** Clients connected through this listener now; the core keeps it. */
  connected: number;
}

/**
 * Without a credential source: the identity the edge verified lets a client in, and so does
 * allowAnonymous; anyone else is refused, as Mosquitto with allow_anonymous false and no
 * password_file refuses.
 */
export function identityOrAnonymous(allowAnonymous: boolean): Authenticator {
  return {
    authenticate(request: AuthenticationRequest): AuthenticationResult {
      if (request.identity !== undefined)
        return { verdict: 'allow', username: request.identity.username ?? request.username };
      if (allowAnonymous) return { verdict: 'allow', username: request.username };
      return {
        verdict: 'deny',
        reason: 'anonymous clients are not allowed and there is no credential source',
        reasonCode: ReasonCode.NotAuthorized,
      };
    },
  };
}

export function listenerPolicy(
  name: string,
  options: {
    maxConnections?: number;
    allowAnonymous?: boolean;
    authenticator?: Authenticator;
    authorizer?: Authorizer;
    failedLoginDelay?: FailedLoginDelay;
    enhancedAuth?: ReadonlyMap<string, EnhancedAuthenticator>;
    useUsernameAsClientId?: boolean;
  } = {},
): ListenerPolicy {
  const allowAnonymous = options.allowAnonymous ?? true;
  return {
    name,
    maxConnections: options.maxConnections ?? Number.POSITIVE_INFINITY,
    allowAnonymous,
    authenticator: options.authenticator ?? identityOrAnonymous(allowAnonymous),
    authorizer: options.authorizer,
    failedLoginDelay: options.failedLoginDelay,
    enhancedAuth: options.enhancedAuth,
    useUsernameAsClientId: options.useUsernameAsClientId ?? false,
    connected: 0,
  };
}
