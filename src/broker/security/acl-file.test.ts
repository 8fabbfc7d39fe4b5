// The ACL file's grammar and matching, beside the module: errors with file and line, the
// anonymous section, patterns, deny precedence, and when a subscription filter is covered.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AclSyntaxError, aclAllows, parseAclFile } from './acl-file.js';

const rules = parseAclFile(
  [
    '# comment',
    'topic read public/#',
    'user alice',
    'topic sensors/+/temp', // no access word: readwrite
    'topic deny sensors/lab/temp',
    'user name with spaces',
    'topic write x',
    'pattern read devices/%u/#',
    'pattern write clients/%c',
  ].join('\n'),
);

describe('ACL file', () => {
  it('names the file and line of a bad line', () => {
    assert.throws(
      () => parseAclFile('user a\ntopic\n', 'acl'),
      new AclSyntaxError('acl:2: a topic line needs a topic: "topic"'),
    );
    assert.throws(() => parseAclFile('topci read a\n', 'acl'), /acl:1: expected user, topic or pattern/);
    assert.throws(() => parseAclFile('topic read a/#/b\n', 'acl'), /acl:1: bad topic/);
  });

  it('anonymous clients get the lines before any user, plus patterns without %u', () => {
    assert.equal(aclAllows(rules, 'read', 'public/news', undefined, 'c1'), true);
    assert.equal(aclAllows(rules, 'write', 'public/news', undefined, 'c1'), false);
    assert.equal(aclAllows(rules, 'write', 'clients/c1', undefined, 'c1'), true);
    assert.equal(aclAllows(rules, 'read', 'devices/x/state', undefined, 'c1'), false);
    assert.equal(
      aclAllows(rules, 'read', 'public/news', 'alice', 'c1'),
      false,
      'users do not get the anonymous lines',
    );
  });

  it('a deny wins; user names may hold spaces; %u and %c are substituted', () => {
    assert.equal(aclAllows(rules, 'write', 'sensors/kitchen/temp', 'alice', 'c'), true);
    assert.equal(aclAllows(rules, 'read', 'sensors/lab/temp', 'alice', 'c'), false);
    assert.equal(aclAllows(rules, 'write', 'x', 'name with spaces', 'c'), true);
    assert.equal(aclAllows(rules, 'read', 'devices/alice/state', 'alice', 'c'), true);
    assert.equal(aclAllows(rules, 'read', 'devices/bob/state', 'alice', 'c'), false);
  });

  it('a user name or client id holding + # or / never widens a pattern', () => {
    assert.equal(aclAllows(rules, 'read', 'devices/a/b/state', 'a/b', 'c'), false);
    assert.equal(aclAllows(rules, 'write', 'clients/+', 'alice', '+'), false);
    assert.equal(aclAllows(rules, 'read', 'devices/#/x', '#', 'c'), false);
  });

  it('a filter is allowed when a readable ACL topic covers everything it can match', () => {
    const cases: [string, boolean][] = [
      ['sensors/+/temp', true],
      ['sensors/kitchen/temp', true],
      ['sensors/#', false], // wider than sensors/+/temp
      ['sensors/+/+', false],
      ['sensors/lab/temp', false], // wholly inside the deny
    ];
    for (const [filter, allowed] of cases)
      assert.equal(aclAllows(rules, 'subscribe', filter, 'alice', 'c'), allowed, filter);
    const wide = parseAclFile('user u\ntopic read a/#\n');
    assert.equal(aclAllows(wide, 'subscribe', 'a', 'u', 'c'), true, 'a/# covers its parent level');
    assert.equal(aclAllows(wide, 'subscribe', 'a/+/b/#', 'u', 'c'), true);
    assert.equal(aclAllows(wide, 'subscribe', '#', 'u', 'c'), false);
    assert.equal(aclAllows(wide, 'subscribe', '+/b', 'u', 'c'), false);
  });
});
