// One record for every connection refused before MQTT (a failed TLS handshake, a certificate
// that does not verify, TLS on a plain port, a listener's connection limits): counted by reason,
// and logged with where and why (and the TLS alert the client was sent, if any), once per source
// and reason when a RefusalLog is given (a flood from one address writes one line, not one per
// connection).

import { type BrokerStats, countUnder } from '../core/broker-stats.js';
import type { Logger } from '../core/ports.js';
import { type RefusalLog, sourceOf } from './refusal-log.js';

export function recordRefusal(
  options: {
    readonly stats: Pick<BrokerStats, 'handshakeFailures' | 'handshakeFailuresByListener'>;
    readonly logger: Logger;
    readonly refusals?: RefusalLog;
  },
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
  const { stats, logger, refusals } = options;
  stats.handshakeFailures[reason] = (stats.handshakeFailures[reason] ?? 0) + 1;
  countUnder(stats.handshakeFailuresByListener, fields.listener, reason);
  const message = `connection refused before MQTT: ${reason}`;
  if (refusals) refusals.refused(sourceOf(fields.remote), reason, { ...fields, reason }, message);
  else logger.warn({ ...fields, reason }, message);
}
