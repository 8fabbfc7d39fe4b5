// The in-memory stores: what a session or retained message is kept in when nothing must survive
// a restart. A Map already is the whole contract; naming it here keeps the wiring the same shape
// for the durable stores to come.

import type { BrokerStores } from '../core/store-ports.js';

export function memoryStores(): BrokerStores {
  return { sessions: new Map(), retained: new Map() };
}
