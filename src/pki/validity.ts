// Validity periods and serial numbers for generated certificates.

import { randomBytes } from 'node:crypto';

export interface ValidityOptions {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Length of validity from notBefore when notAfter is not given. */
  readonly days?: number;
}

const DAY = 86_400_000;

export function validity(options: ValidityOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  // A minute back, so a peer whose clock is slightly behind still accepts a fresh certificate.
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.days ?? defaultDays) * DAY);
  return { notBefore, notAfter };
}

/** 128 random bits, positive (RFC 5280 4.1.2.2), as hex. */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  if (bytes[0] === 0) bytes[0] = 0x01;
  return bytes.toString('hex');
}
