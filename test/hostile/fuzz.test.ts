// The fuzzers in npm test, briefly (issue 17): a fixed seed, so a failure here replays with
// `node --import tsx fuzz/codec-fuzz.ts --seed <s> --from <index> --count 1`. The long runs are
// `npm run fuzz:codec` and `npm run fuzz:socket` (BENCHMARKS.md records them).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzCodec } from '../../fuzz/codec-fuzz.js';
import { fuzzSocket } from '../../fuzz/socket-fuzz.js';
import { WARDEN } from '../support/processes.js';

describe('fuzzing', () => {
  it('the codec: 50,000 mutated inputs, each decoded or refused with a ProtocolError, re-encoded alike', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261202);
    const report = fuzzCodec(seed, 50_000);
    assert.deepEqual(report.failures, []);
    assert.ok(report.decoded > 5000, `${report.decoded} decoded: the mutations are not all fatal`);
    assert.ok(Object.keys(report.refused).length > 15, 'many kinds of refusal reached');
  });

  it('a live broker: 1,000 mutated streams, the broker up and the probe connected throughout', async () => {
    const report = await fuzzSocket({
      seed: 20261202,
      count: 1000,
      concurrency: 10,
      broker: ['node', ...WARDEN],
    });
    assert.ok(report.brokerAlive, report.brokerOutput);
    assert.equal(report.probeDisconnected, false);
    assert.ok(Number.isFinite(report.slowestRoundTripMs), 'the probe never stalled for 5 s');
    assert.ok(report.roundTrips > 10, `${report.roundTrips} round trips`);
    assert.doesNotMatch(report.brokerOutput, /uncaught|unhandled/i);
  });
});
