// The trie against the spec's matching rules (topicMatches) over generated filters and names,
// and its pruning on removal.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { topicMatches } from '../../protocol/index.js';
import { SubscriptionTree } from './subscription-tree.js';

const level = fc.constantFrom('a', 'b', '', '$x');
const name = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
const filter = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '', '+', '$x'), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));

describe('SubscriptionTree', () => {
  it('matches exactly the filters topicMatches accepts', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filter, { maxLength: 12 }), name, (filters, topic) => {
        const tree = new SubscriptionTree<string, number>();
        for (const [i, f] of filters.entries()) tree.add(f, f, i);
        const matched: string[] = [];
        tree.match(topic, (_value, key) => matched.push(key));
        assert.deepEqual(matched.sort(), filters.filter((f) => topicMatches(f, topic)).sort());
      }),
      { numRuns: 3000 },
    );
  });

  it('after any adds and removals of several keys per filter, matches what a plain list of them does', () => {
    // Several subscribers on one filter and one child per node take the trie's compact forms
    // (one subscriber or child in the node's fields) and back: each step is checked against a list.
    const op = fc.record({ add: fc.boolean(), filter, key: fc.constantFrom('k1', 'k2', 'k3') });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.array(name, { minLength: 1, maxLength: 4 }),
        (ops, topics) => {
          const tree = new SubscriptionTree<string, number>();
          const model = new Map<string, number>();
          for (const [i, { add, filter: f, key }] of ops.entries()) {
            const id = `${key} ${f}`;
            if (add) {
              assert.equal(tree.add(f, key, i), !model.has(id));
              model.set(id, i);
            } else assert.equal(tree.remove(f, key), model.delete(id));
            assert.equal(tree.size, model.size);
          }
          for (const topic of topics) {
            const matched: string[] = [];
            tree.match(topic, (value, key) => matched.push(`${key} ${value}`));
            const expected = [...model]
              .filter(([id]) => topicMatches(id.slice(id.indexOf(' ') + 1), topic))
              .map(([id, value]) => `${id.slice(0, id.indexOf(' '))} ${value}`);
            assert.deepEqual(matched.sort(), expected.sort());
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('visits a subscriber once per matching filter and forgets removed ones', () => {
    const tree = new SubscriptionTree<string, number>();
    assert.equal(tree.add('a/+', 's1', 1), true);
    assert.equal(tree.add('a/#', 's1', 2), true);
    assert.equal(tree.add('a/+', 's1', 3), false, 'same filter again replaces');
    const seen: Array<[string, number]> = [];
    tree.match('a/b', (v, k) => seen.push([k, v]));
    assert.deepEqual(seen.sort(), [
      ['s1', 2],
      ['s1', 3],
    ]);
    assert.equal(tree.remove('a/+', 's1'), true);
    assert.equal(tree.remove('a/+', 's1'), false);
    assert.equal(tree.remove('x/y', 's1'), false);
    assert.equal(tree.size, 1);
  });

  it('prunes branches left empty', () => {
    const tree = new SubscriptionTree<string, number>();
    tree.add('a/b/c/d', 'k', 1);
    tree.remove('a/b/c/d', 'k');
    tree.add('a/#', 'k', 1);
    const seen: string[] = [];
    tree.match('a/b/c/d', (_v, k) => seen.push(k));
    assert.deepEqual(seen, ['k']);
    assert.equal(tree.size, 1);
  });
});
