// What each client may publish, subscribe to and receive on one listener: library hooks first
// (allow / deny / defer, bounded by a timeout; a failure denies), then the ACL file. With hooks
// and no ACL file, all-defer denies; with neither, everything is allowed. Receiving is checked
// against the ACL file only, synchronously, because it runs for every delivery.

import type { AuthorizationRequest, AuthorizationVerdict, Authorizer, Logger } from '../core/ports.js';
import type { AclFile } from './acl-file.js';
import { askHook } from './ask-hook.js';

export interface AuthorizerHook {
  authorize(request: AuthorizationRequest): AuthorizationVerdict | Promise<AuthorizationVerdict>;
}

export interface TopicAuthorizerOptions {
  readonly hooks: readonly AuthorizerHook[];
  readonly acl?: AclFile;
  readonly hookTimeoutMs: number;
  readonly logger: Logger;
  /**
   * false: the ACL file does not judge SUBSCRIBE (mosquitto 2.0: every subscription is granted
   * and only what the client may read is delivered); hooks still do. Default true.
   */
  readonly aclJudgesSubscribe?: boolean;
}

export class TopicAuthorizer implements Authorizer {
  readonly receiveCheck?: (username: string | undefined, clientId: string) => (topic: string) => boolean;
  readonly publishCheck?: (username: string | undefined, clientId: string, topic: string) => boolean;

  constructor(private readonly options: TopicAuthorizerOptions) {
    const acl = options.acl;
    if (acl) {
      this.receiveCheck = (username, clientId) => acl.reader(username, clientId);
      this.publishCheck = (username, clientId, topic) => acl.allows('write', topic, username, clientId);
    }
  }

  authorize(request: AuthorizationRequest): AuthorizationVerdict | Promise<AuthorizationVerdict> {
    if (this.options.hooks.length === 0) return this.#fromAcl(request, 'allow');
    return this.#withHooks(request);
  }

  async #withHooks(request: AuthorizationRequest): Promise<AuthorizationVerdict> {
    for (const [index, hook] of this.options.hooks.entries()) {
      const verdict = await this.#ask(hook, index, request);
      if (verdict !== 'defer') return verdict;
    }
    return this.#fromAcl(request, 'deny');
  }

  #fromAcl(request: AuthorizationRequest, withoutAcl: AuthorizationVerdict): AuthorizationVerdict {
    const acl = this.options.acl;
    if (acl === undefined) return withoutAcl;
    if (request.action === 'subscribe' && this.options.aclJudgesSubscribe === false) return 'allow';
    const action = request.action === 'publish' ? 'write' : 'subscribe';
    return acl.allows(action, request.topic, request.username, request.clientId) ? 'allow' : 'deny';
  }

  async #ask(
    hook: AuthorizerHook,
    index: number,
    request: AuthorizationRequest,
  ): Promise<AuthorizationVerdict> {
    try {
      return await askHook(() => hook.authorize(request), isVerdict, this.options.hookTimeoutMs);
    } catch (error) {
      this.options.logger.error(
        { hook: index, clientId: request.clientId, action: request.action, error: (error as Error).message },
        'authorization hook failed: denied',
      );
      return 'deny';
    }
  }
}

const isVerdict = (value: unknown): value is AuthorizationVerdict =>
  value === 'allow' || value === 'deny' || value === 'defer';
