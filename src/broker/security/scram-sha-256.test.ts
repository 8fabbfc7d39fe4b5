// SCRAM-SHA-256 on the broker side, beside the module: hostile input (any bytes as the client's
// first and final messages) ends in a refusal, never an exception; a proof for one nonce does
// not pass for another; password hashes that are not hashes never verify, and never throw.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hashPassword, parseHash, scramSecretOf, verifyPassword } from './password-hash.js';
import { scramSha256 } from './scram-sha-256.js';

const request = (data: Buffer) => ({
  listener: 'test',
  remoteAddress: '127.0.0.1:1',
  clientId: 'c',
  protocolVersion: 5 as const,
  data,
});

describe('SCRAM-SHA-256 against hostile input', async () => {
  const secret = scramSecretOf(await hashPassword('pw', 'scram-sha-256'));
  const scram = scramSha256((user) => (user === 'u' ? secret : undefined));

  it('any client-first and client-final bytes end in continue-then-failure, never a throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        async (first, final) => {
          const step = await scram.start(request(Buffer.from(first)));
          if (step.kind === 'failure') return;
          assert.equal(step.kind, 'continue');
          if (step.kind !== 'continue') return;
          const last = await step.next(Buffer.from(final));
          assert.equal(last.kind, 'failure');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('well-formed messages with a wrong proof fail, for known and unknown users alike', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('u', 'nobody'),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        async (user, proof) => {
          const step = await scram.start(request(Buffer.from(`n,,n=${user},r=abc`)));
          assert.equal(step.kind, 'continue');
          if (step.kind !== 'continue') return;
          const nonce = /r=([^,]+)/.exec(step.data.toString())?.[1];
          const last = await step.next(
            Buffer.from(`c=biws,r=${nonce},p=${Buffer.from(proof).toString('base64')}`),
          );
          assert.equal(last.kind, 'failure');
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('password hashes against hostile input', () => {
  it('a stored value that is not a known hash never verifies, and nothing throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.constantFrom('$7$$$', '$6$$', '$scrypt$ln=99,r=8,p=1$AA==$AA==', 'SCRAM-SHA-256$1:$:'),
        ),
        fc.string(),
        async (stored, password) => {
          const verified = await verifyPassword(stored, password);
          if (!parseHash(stored).ok) assert.equal(verified, false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
