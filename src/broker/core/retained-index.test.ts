// The retained index against the spec's matching rule (topicMatches): for any set of topics and
// any filter, a subscription finds exactly the retained messages the rule says it matches.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { topicMatches } from '../../protocol/index.js';
import { RetainedIndex } from './retained-index.js';

const level = fc.constantFrom('a', 'b', '', '$SYS', '$x', 'long-level');
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
const filter = fc
  .array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 })
  .chain((l) => fc.boolean().map((hash) => (hash ? [...l, '#'] : l).join('/')))
  .map((f) => (f === '' ? '#' : f));

const message = (t: string) => ({ topic: t, payload: Buffer.from(t), qos: 0 as const, retain: true });

describe('retained index', () => {
  it('matches what topicMatches matches, for any topics and filter, after deletions too', () => {
    fc.assert(
      fc.property(
        fc.array(topic, { maxLength: 30 }),
        fc.array(topic, { maxLength: 10 }),
        filter,
        (kept, deleted, f) => {
          const index = new RetainedIndex();
          for (const t of kept) index.set(t, message(t));
          for (const t of deleted) index.delete(t);
          const expected = [...new Set(kept)]
            .filter((t) => !deleted.includes(t) && topicMatches(f, t))
            .sort();
          const found = index
            .match(f)
            .map((m) => m.topic)
            .sort();
          assert.deepEqual(found, expected);
          assert.equal(index.size, new Set(kept.filter((t) => !deleted.includes(t))).size);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('"#" and "+" do not match topics beginning with "$" [MQTT-4.7.2-1]; "a/#" matches "a"', () => {
    const index = new RetainedIndex();
    for (const t of ['$SYS/x', 'a', 'a/b', '$SYS']) index.set(t, message(t));
    assert.deepEqual(
      index
        .match('#')
        .map((m) => m.topic)
        .sort(),
      ['a', 'a/b'],
    );
    assert.deepEqual(
      index.match('+/x').map((m) => m.topic),
      [],
    );
    assert.deepEqual(
      index
        .match('$SYS/#')
        .map((m) => m.topic)
        .sort(),
      ['$SYS', '$SYS/x'],
    );
    assert.deepEqual(
      index
        .match('a/#')
        .map((m) => m.topic)
        .sort(),
      ['a', 'a/b'],
    );
  });

  it('a deleted topic leaves no empty branch behind', () => {
    const index = new RetainedIndex();
    index.set('a/b/c', message('a/b/c'));
    index.delete('a/b/c');
    assert.equal(index.size, 0);
    assert.deepEqual([...index.values()], []);
    assert.equal(index.delete('a/b/c'), false);
  });
});
