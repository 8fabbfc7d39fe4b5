// OCSP stapling from a responder: asks it about the server certificate, keeps the last answer
// that checks out, and asks again halfway through that answer's validity. A responder that is
// down costs nothing but the staple: the old answer is served until it expires, then none.

import type { X509Certificate } from 'node:crypto';
import { type OcspStatus, ocspRequest, readOcspResponse } from '../../pki/index.js';
import type { Logger } from '../core/ports.js';

const FETCH_TIMEOUT_MS = 5_000;
const RETRY_MS = 60_000;
const HOUR = 3_600_000;

export class OcspStapler {
  readonly #request: Buffer;
  #answer?: { der: Buffer; status: OcspStatus };
  #timer?: NodeJS.Timeout;
  #stopped = false;

  constructor(
    /** Named by the listener, whose URL is known once it is bound. */
    private readonly owner: { readonly name: string },
    readonly url: string,
    readonly certificate: X509Certificate,
    private readonly issuer: X509Certificate,
    private readonly logger: Logger,
  ) {
    this.#request = ocspRequest(certificate, issuer);
  }

  /** The answer to staple now: the last good fetch, while it is valid. */
  current(now = Date.now()): Buffer | undefined {
    const answer = this.#answer;
    if (answer?.status.nextUpdate !== undefined && answer.status.nextUpdate.getTime() < now) return undefined;
    return answer?.der;
  }

  /** Fetches an answer now and schedules the next; resolves whether it worked, never rejects. */
  async refresh(): Promise<boolean> {
    clearTimeout(this.#timer);
    let next: number;
    let ok = false;
    try {
      const der = await this.#fetch();
      const status = readOcspResponse(der, this.certificate, this.issuer);
      this.#answer = { der, status };
      ok = true;
      const log = status.status === 'good' ? this.logger.debug : this.logger.error;
      log.call(
        this.logger,
        {
          listener: this.owner.name,
          responder: this.url,
          status: status.status,
          nextUpdate: status.nextUpdate,
        },
        status.status === 'good'
          ? 'OCSP answer fetched for stapling'
          : `the OCSP responder says the server certificate is ${status.status}`,
      );
      next = refreshDelay(status);
    } catch (error) {
      this.logger.warn(
        { listener: this.owner.name, responder: this.url, error: (error as Error).message },
        this.#answer
          ? 'OCSP fetch failed; the previous answer is stapled until it expires'
          : 'OCSP fetch failed; no staple',
      );
      next = RETRY_MS;
    }
    if (!this.#stopped) {
      this.#timer = setTimeout(() => void this.refresh(), next);
      this.#timer.unref();
    }
    return ok;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #fetch(): Promise<Buffer> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: this.#request,
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    }).catch((error: Error) => {
      const cause = (error.cause as Error | undefined)?.message;
      throw new Error(`responder ${this.url} unreachable: ${cause ?? error.message}`);
    });
    if (!response.ok) throw new Error(`responder ${this.url} answered HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }
}

/** Halfway to nextUpdate, between a minute and a day; hourly when the responder gives no nextUpdate. */
function refreshDelay(status: OcspStatus, now = Date.now()): number {
  if (status.nextUpdate === undefined) return HOUR;
  return Math.min(24 * HOUR, Math.max(60_000, (status.nextUpdate.getTime() - now) / 2));
}
