// warden/broker: create and run an MQTT broker, and read its configuration files.

export { ConfigError } from './config/config-error.js';
export type { BrokerConfig, BrokerConfigInput, ListenerConfig } from './config/config-schema.js';
export { loadConfigFile, readConfigFile } from './config/load-config-file.js';
export { validateConfig } from './config/validate-config.js';
export type { Message } from './core/message.js';
export type {
  AuthenticationRequest,
  AuthenticationResult,
  Authenticator,
  AuthorizationRequest,
  AuthorizationVerdict,
  EnhancedAuthenticator,
  EnhancedAuthStep,
  Logger,
} from './core/ports.js';
export { type Broker, createBroker, type SecurityHooks } from './create-broker.js';
export type { RunningListener } from './edge/tcp-listener.js';
export type { StoreReport } from './persistence/open-store.js';
export { StoreError } from './persistence/store-error.js';
export { AclSyntaxError, parseAclFile } from './security/acl-file.js';
export {
  PasswordFileError,
  type PasswordLine,
  parsePasswordFile,
  passwordFileLines,
} from './security/password-file.js';
export {
  type HashAlgorithm,
  hashPassword,
  parseHash,
  verifyPassword,
} from './security/password-hash.js';
export type { AuthorizerHook } from './security/topic-authorizer.js';
