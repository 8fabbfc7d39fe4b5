// Who a connecting client is: the listener's authenticator chain, or an MQTT 5 enhanced
// authentication exchange when CONNECT names a method; refusals answered after the listener's
// failed-login delay; and re-authentication (AUTH 0x19) while connected. The connection turns
// the answer into a CONNACK; this module never writes one.

import { type ConnectPacket, type Packet, ReasonCode, reasonCodeName } from '../../protocol/index.js';
import { AuthExchange } from './auth-exchange.js';
import type { BrokerCore } from './broker-core.js';
import { countLoginFailure } from './broker-stats.js';
import type { ListenerPolicy } from './listener-policy.js';
import type { AuthenticationRequest, AuthenticationResult, Logger, PacketChannel } from './ports.js';

/** What of its connection the authentication uses. */
export interface AuthenticatingConnection {
  readonly core: BrokerCore;
  readonly channel: PacketChannel;
  readonly listener: ListenerPolicy;
  readonly logger: Logger;
  send(packet: Packet): void;
  disconnect(reasonCode: number, reason: string): void;
  isClosed(): boolean;
}

export class ClientAuthentication {
  /** The enhanced authentication exchange under way (at CONNECT or a re-authentication). */
  #exchange: AuthExchange | undefined;
  /** The enhanced authentication method CONNECT used; re-authentication must use it too. */
  #method: string | undefined;

  constructor(private readonly connection: AuthenticatingConnection) {}

  /** Routes an AUTH packet to the exchange under way; false when none is (the caller handles it). */
  answer(packet: Packet & { type: 'auth' }): boolean {
    if (this.#exchange === undefined) return false;
    if (!this.#exchange.answer(packet))
      this.connection.disconnect(
        ReasonCode.ProtocolError,
        'AUTH out of step with the authentication exchange',
      );
    return true;
  }

  /** The verdict on a CONNECT; synchronous when the authenticator answers at once and allows. */
  connect(packet: ConnectPacket): AuthenticationResult | Promise<AuthenticationResult> {
    const request = this.#request(packet.clientId, packet.username, packet.password, packet.protocolVersion);
    const method = packet.properties?.authenticationMethod;
    if (method !== undefined)
      return this.#enhanced(request, method, packet.properties?.authenticationData).then((r) =>
        this.#settled(r),
      );
    const failed = (error: unknown): AuthenticationResult => {
      this.connection.logger.error({ error: String(error) }, 'authentication failed');
      return { verdict: 'deny', reason: 'authentication failed', reasonCode: ReasonCode.ServerUnavailable };
    };
    let answer: AuthenticationResult | Promise<AuthenticationResult>;
    try {
      answer = this.connection.listener.authenticator.authenticate(request);
    } catch (error) {
      answer = failed(error);
    }
    if (!(answer instanceof Promise)) return this.#settled(answer);
    return answer.catch(failed).then((result) => this.#settled(result));
  }

  /**
   * AUTH 0x19 after CONNECT [MQTT-4.12.1]: the same method again, while other packets go on. The
   * same user passes (AUTH 0x00); anything else is disconnected with 0x87.
   */
  reauthenticate(packet: Packet & { type: 'auth' }, clientId: string, username: string | undefined): void {
    const { connection } = this;
    const method = packet.properties?.authenticationMethod;
    const authenticator = method === undefined ? undefined : connection.listener.enhancedAuth?.get(method);
    if (
      packet.reasonCode !== ReasonCode.ReAuthenticate ||
      method === undefined ||
      method !== this.#method ||
      !authenticator
    ) {
      // [MQTT-4.12.1-1]: a client that did not authenticate this way may not send AUTH.
      connection.disconnect(
        ReasonCode.ProtocolError,
        'AUTH without a re-authentication by the CONNECT method',
      );
      return;
    }
    const exchange = new AuthExchange(method, (p) => connection.send(p));
    this.#exchange = exchange;
    const request = this.#request(clientId, username, undefined, 5);
    void exchange
      .run(() => authenticator.start({ ...request, data: packet.properties?.authenticationData }))
      .then((final) => {
        if (this.#exchange === exchange) this.#exchange = undefined;
        if (connection.isClosed()) return;
        if (final.kind === 'success' && final.username === username) {
          connection.send({
            type: 'auth',
            reasonCode: ReasonCode.Success,
            properties: { authenticationMethod: method, authenticationData: final.data },
          });
          connection.logger.info({ method }, 'client re-authenticated');
          return;
        }
        countLoginFailure(connection.core.stats, connection.listener.name, 're-authentication refused');
        connection.disconnect(
          ReasonCode.NotAuthorized,
          final.kind === 'failure' ? final.reason : `re-authenticated as another user (${final.username})`,
        );
      });
  }

  #request(
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
    protocolVersion: ConnectPacket['protocolVersion'],
  ): AuthenticationRequest {
    const { listener, channel } = this.connection;
    return {
      listener: listener.name,
      remoteAddress: channel.remoteAddress,
      clientId,
      username,
      password,
      identity: channel.identity,
      protocolVersion,
    };
  }

  /** CONNECT with an Authentication Method: the exchange decides instead of the authenticator chain. */
  async #enhanced(
    request: AuthenticationRequest,
    method: string,
    data: Buffer | undefined,
  ): Promise<AuthenticationResult> {
    const authenticator = this.connection.listener.enhancedAuth?.get(method);
    if (authenticator === undefined)
      return {
        verdict: 'deny',
        reason: `authentication method ${method} is not offered on this listener`,
        reasonCode: ReasonCode.BadAuthenticationMethod,
      };
    this.#exchange = new AuthExchange(method, (p) => this.connection.send(p));
    const final = await this.#exchange.run(() => authenticator.start({ ...request, data }));
    this.#exchange = undefined;
    this.#method = method;
    return final.kind === 'success'
      ? { verdict: 'allow', username: final.username, authentication: { method, data: final.data } }
      : { verdict: 'deny', reason: final.reason, reasonCode: final.reasonCode ?? ReasonCode.NotAuthorized };
  }

  /** Counts a refusal and holds it back by the listener's failed-login delay for this address. */
  #settled(result: AuthenticationResult): AuthenticationResult | Promise<AuthenticationResult> {
    const { listener, channel, core } = this.connection;
    const delay = listener.failedLoginDelay;
    if (result.verdict === 'allow') {
      delay?.succeeded(channel.remoteAddress);
      return result;
    }
    const code = result.verdict === 'deny' ? (result.reasonCode ?? ReasonCode.NotAuthorized) : undefined;
    countLoginFailure(
      core.stats,
      listener.name,
      code === undefined ? 'every authenticator deferred' : reasonCodeName(code),
    );
    // Answered late, more so for each failure from the same address.
    const ms = delay?.failed(channel.remoteAddress) ?? 0;
    if (ms === 0) return result;
    return new Promise((resolve) => core.options.clock.setTimeout(() => resolve(result), ms));
  }
}
