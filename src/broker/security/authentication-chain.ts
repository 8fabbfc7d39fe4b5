// Who may connect through one listener: library hooks first (allow / deny / defer, each bounded
// by a timeout), then the identity the edge verified (certificate, PSK), then the password file,
// then the listener's anonymous policy. All-defer denies. A hook that throws or hangs denies and
// is logged; it never takes the broker down.

import { ReasonCode } from '../../protocol/index.js';
import type { AuthenticationRequest, AuthenticationResult, Authenticator, Logger } from '../core/ports.js';
import { askHook } from './ask-hook.js';
import type { PasswordFile } from './password-file.js';

export interface AuthenticationChainOptions {
  readonly hooks: readonly Authenticator[];
  readonly passwords?: PasswordFile;
  readonly allowAnonymous: boolean;
  readonly hookTimeoutMs: number;
  readonly logger: Logger;
}

const BAD_CREDENTIALS = {
  verdict: 'deny',
  reason: 'bad user name or password',
  reasonCode: ReasonCode.BadUserNameOrPassword,
} as const;

export class AuthenticationChain implements Authenticator {
  constructor(private readonly options: AuthenticationChainOptions) {}

  /**
   * Hooks and the password file answer later; the rest (a verified certificate or PSK, the
   * anonymous policy) answers at once: such a CONNECT is handled in the turn it arrives, with no
   * promise, no microtask and no packets held behind it.
   */
  authenticate(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult> {
    return this.options.hooks.length > 0 ? this.#hooksFirst(request) : this.#afterHooks(request);
  }

  async #hooksFirst(request: AuthenticationRequest): Promise<AuthenticationResult> {
    for (const [index, hook] of this.options.hooks.entries()) {
      const result = await this.#ask(hook, index, request);
      // A hook that allows without naming the user lets the CONNECT user name stand.
      if (result.verdict === 'allow' && result.username === undefined)
        return { ...result, username: request.username };
      if (result.verdict !== 'defer') return result;
    }
    return this.#afterHooks(request);
  }

  /** What decides once every hook deferred (or there are none). */
  #afterHooks(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult> {
    if (request.identity !== undefined)
      return { verdict: 'allow', username: request.identity.username ?? request.username };
    const passwords = this.options.passwords;
    if (passwords !== undefined && request.username !== undefined) {
      const username = request.username;
      return passwords
        .check(username, request.password)
        .then((check) => (check === 'ok' ? { verdict: 'allow', username } : BAD_CREDENTIALS));
    }
    if (this.options.allowAnonymous) return { verdict: 'allow', username: request.username };
    if (request.username !== undefined || request.password !== undefined) return BAD_CREDENTIALS;
    return {
      verdict: 'deny',
      reason: 'anonymous clients are not allowed on this listener',
      reasonCode: ReasonCode.NotAuthorized,
    };
  }

  async #ask(
    hook: Authenticator,
    index: number,
    request: AuthenticationRequest,
  ): Promise<AuthenticationResult> {
    try {
      return await askHook(() => hook.authenticate(request), isResult, this.options.hookTimeoutMs);
    } catch (error) {
      this.options.logger.error(
        { hook: index, clientId: request.clientId, error: (error as Error).message },
        'authentication hook failed: the client is denied',
      );
      return {
        verdict: 'deny',
        reason: `authentication hook ${index} failed`,
        reasonCode: ReasonCode.NotAuthorized,
      };
    }
  }
}

function isResult(value: unknown): value is AuthenticationResult {
  const verdict = (value as { verdict?: unknown } | undefined)?.verdict;
  return verdict === 'allow' || verdict === 'deny' || verdict === 'defer';
}
