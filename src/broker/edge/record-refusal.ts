// One record for every connection refused before MQTT (a failed TLS handshake, a certificate
// that does not verify, TLS on a plain port): logged once with where and why (and the TLS alert
// the client was sent, if any), counted by reason.

import { type BrokerStats, countUnder } from '../core/broker-stats.js';
import type { Logger } from '../core/ports.js';

export function recordRefusal(
  stats: Pick<BrokerStats, 'handshakeFailures' | 'handshakeFailuresByListener'>,
  logger: Logger,
  fields: {
    listener: string;
    remote: string;
    sni?: string;
    protocol?: string;
    code?: string;
    alert?: string;
  },
  reason: string,
): void {
  stats.handshakeFailures[reason] = (stats.handshakeFailures[reason] ?? 0) + 1;
  countUnder(stats.handshakeFailuresByListener, fields.listener, reason);
  logger.warn({ ...fields, reason }, `connection refused before MQTT: ${reason}`);
}
