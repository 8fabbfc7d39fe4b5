// The boundaries of ARCHITECTURE.md hold in src/, and each rule fires on a graph that breaks it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { architectureViolations, clientLoadsBrokerDependencies, readImportGraph } from './import-graph.js';

const root = join(import.meta.dirname, '..', '..');
const graph = readImportGraph(join(root, 'src'));

describe('architecture', () => {
  it('src/ crosses no boundary and has no import cycle', () => {
    assert.ok(graph.size > 20, `read ${graph.size} modules`);
    assert.deepEqual(architectureViolations(graph), []);
  });

  it('a program importing only warden/client loads nothing of the broker', () => {
    assert.deepEqual(clientLoadsBrokerDependencies(graph), []);
  });

  it('protocol/ has no timers, logging or process access', () => {
    for (const file of graph.keys()) {
      if (!file.startsWith('protocol/')) continue;
      const text = readFileSync(join(root, 'src', file), 'utf8');
      assert.doesNotMatch(text, /\b(setTimeout|setInterval|setImmediate|console\.|process\.)/, file);
    }
  });

  describe('each rule fires on a graph that breaks it', () => {
    const cases: Array<[string, Record<string, string[]>, RegExp]> = [
      ['protocol importing node:net', { 'protocol/a.ts': ['node:net'] }, /protocol\/ is pure/],
      [
        'protocol importing the broker',
        { 'protocol/a.ts': ['broker/core/b.ts'], 'broker/core/b.ts': [] },
        /protocol\/ is pure/,
      ],
      [
        'broker core importing the edge',
        { 'broker/core/a.ts': ['broker/edge/b.ts'], 'broker/edge/b.ts': [] },
        /broker\/core imports/,
      ],
      ['broker core importing a package', { 'broker/core/a.ts': ['pino'] }, /broker\/core uses no package/],
      [
        'security importing node:tls',
        { 'broker/security/a.ts': ['node:tls'] },
        /only broker\/edge touches sockets/,
      ],
      [
        'client importing broker',
        { 'client/a.ts': ['broker/core/b.ts'], 'broker/core/b.ts': [] },
        /client\/ never imports broker/,
      ],
      [
        'cli reaching past an entry point',
        { 'cli/a.ts': ['protocol/topic.ts'], 'protocol/topic.ts': [] },
        /public entry points only/,
      ],
      [
        'wiring outside create-broker',
        {
          'broker/core/x.ts': [],
          'broker/security/a.ts': ['broker/persistence/b.ts'],
          'broker/persistence/b.ts': [],
        },
        /only create-broker.ts wires/,
      ],
      [
        'an import cycle',
        { 'protocol/a.ts': ['protocol/b.ts'], 'protocol/b.ts': ['protocol/a.ts'] },
        /import cycle: protocol\/a.ts -> protocol\/b.ts -> protocol\/a.ts/,
      ],
    ];
    for (const [name, edges, expected] of cases) {
      it(name, () => {
        const violations = architectureViolations(new Map(Object.entries(edges)));
        assert.ok(
          violations.some((v) => expected.test(v)),
          violations.join('\n') || 'no violation found',
        );
      });
    }

    it('a client entry that loads a broker-only package', () => {
      const bad = new Map(Object.entries({ 'client/index.ts': ['client/x.ts'], 'client/x.ts': ['ioredis'] }));
      assert.deepEqual(clientLoadsBrokerDependencies(bad), ['warden/client loads ioredis']);
    });
  });
});
