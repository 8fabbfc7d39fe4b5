// createBroker for tests that are not about persistence: the memory store, so test files running
// side by side never share a store file (and a retained message of one never reaches another).

import {
  type Broker,
  type BrokerConfigInput,
  createBroker as createAnyBroker,
  type Logger,
  type SecurityHooks,
} from '../../src/broker/index.js';

export function createBroker(
  config: BrokerConfigInput,
  logger?: Logger,
  hooks?: SecurityHooks,
): Promise<Broker> {
  return createAnyBroker({ persistence: { enabled: false }, ...config }, logger, hooks);
}
