// Topic name and filter rules (MQTT 5.0 4.7, 4.8.2) and matching, including $-topics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSharedSubscription, topicMatches, validateTopicFilter, validateTopicName } from './topic.js';

describe('validateTopicName', () => {
  const valid = ['a', 'a/b', '/', 'a//b', '/finance', 'sport/', '$SYS/broker/uptime', 'température/€', '𝄞'];
  for (const name of valid)
    it(`accepts ${JSON.stringify(name)}`, () => assert.equal(validateTopicName(name), undefined));

  const invalid: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a/+', /wildcard/],
    ['a/#', /wildcard/],
    ['a+b', /wildcard/],
    ['a\u0000b', /U\+0000/],
    ['a\uD800b', /unpaired surrogate/],
    ['a\uDC00', /unpaired surrogate/],
    ['é'.repeat(40_000), /longer than 65535 bytes/],
  ];
  for (const [name, problem] of invalid) {
    it(`refuses ${JSON.stringify(name.slice(0, 12))}`, () =>
      assert.match(validateTopicName(name) ?? '', problem));
  }
});

describe('validateTopicFilter', () => {
  const valid = ['#', '+', 'a/#', 'a/+/b', '+/+', '/+', 'a//#', '$share/g/a/#', '$share/group/+', '$SYS/#'];
  for (const filter of valid)
    it(`accepts ${filter}`, () => assert.equal(validateTopicFilter(filter), undefined));

  const invalid: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a/#/b', /"#" must be the last level/],
    ['a#', /"#" must be the last level/],
    ['a/b#', /"#" must be the last level/],
    ['a+/b', /"\+" must fill a whole level/],
    ['a/+b', /"\+" must fill a whole level/],
    ['$share/g', /shared subscription/],
    ['$share//a', /shared subscription/],
    ['$share/g+/a', /shared subscription/],
    ['$share/g/', /shared subscription/],
    ['$share/g/a#', /"#" must be the last level/],
    ['a\u0000', /U\+0000/],
  ];
  for (const [filter, problem] of invalid) {
    it(`refuses ${JSON.stringify(filter)}`, () => assert.match(validateTopicFilter(filter) ?? '', problem));
  }

  it('splits a shared subscription into share name and filter', () => {
    assert.deepEqual(parseSharedSubscription('$share/g1/a/+/c'), { shareName: 'g1', topicFilter: 'a/+/c' });
    assert.equal(parseSharedSubscription('a/b'), undefined);
  });
});

describe('topicMatches', () => {
  const table: Array<[string, string, boolean]> = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'a/b/c', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['A', 'a', false],
    // [MQTT-4.7.2-1]: wildcards at the first level do not match $-topics
    ['#', '$SYS/broker/uptime', false],
    ['+/broker/uptime', '$SYS/broker/uptime', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['$SYS/+/uptime', '$SYS/broker/uptime', true],
    ['a/#', 'a/$x', true],
  ];
  for (const [filter, name, expected] of table) {
    it(`${filter} ${expected ? 'matches' : 'does not match'} ${name}`, () =>
      assert.equal(topicMatches(filter, name), expected));
  }

  it('agrees with a regular-expression oracle on generated filters and names', () => {
    const level = fc.constantFrom('a', 'b', '', '$x');
    const name = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
    const filter = fc
      .tuple(fc.array(fc.constantFrom('a', 'b', '', '+', '$x'), { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));
    fc.assert(
      fc.property(filter, name, (f, n) => {
        const pattern = f
          .split('/')
          .map((l) => (l === '+' ? '[^/]*' : l === '#' ? '\u0000' : l.replace(/\$/g, '\\$')))
          .join('/')
          .replace('/\u0000', '(/.*)?')
          .replace('\u0000', '.*');
        const oracle = new RegExp(`^${pattern}$`).test(n) && !(n.startsWith('$') && /^[+#]/.test(f));
        assert.equal(topicMatches(f, n), oracle, `${f} vs ${n}`);
      }),
      { numRuns: 3000 },
    );
  });
});
