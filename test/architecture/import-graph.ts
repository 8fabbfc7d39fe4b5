// Reads src/ into an import graph (file -> the modules it imports) and checks it against the
// boundaries of ARCHITECTURE.md. The rules take a graph, so the test can also feed it broken
// graphs and see each rule fire.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** Keys and internal targets are paths relative to src/ ("protocol/topic.ts"); bare packages stay bare. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

export function readImportGraph(srcDir: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        const file = relative(srcDir, path);
        const text = readFileSync(path, 'utf8');
        const targets: string[] = [];
        for (const match of text.matchAll(IMPORT)) {
          const spec = match[1] ?? match[2] ?? match[3]!;
          targets.push(
            spec.startsWith('.') ? normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts') : spec,
          );
        }
        graph.set(file, targets);
      }
    }
  };
  walk(srcDir);
  return graph;
}

const NETWORK_MODULES = new Set([
  'node:net',
  'node:tls',
  'net',
  'tls',
  'ws',
  'node:http',
  'node:https',
  'http',
  'https',
]);
const BROKER_ONLY_PACKAGES = new Set(['lmdb', 'ioredis', 'prom-client', 'pino', 'yaml', 'zod', 'commander']);
const PUBLIC_ENTRIES = new Set(['protocol/index.ts', 'broker/index.ts', 'client/index.ts', 'pki/index.ts']);
const isInternal = (target: string) => target.endsWith('.ts');
const under = (file: string, dir: string) => file.startsWith(`${dir}/`);

/** Every boundary crossed, in words; empty when the graph keeps the architecture. */
export function architectureViolations(graph: ImportGraph): string[] {
  const violations: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const edge = `${file} imports ${target}`;
      if (under(file, 'protocol') && !(isInternal(target) && under(target, 'protocol'))) {
        violations.push(`${edge}: protocol/ is pure and imports only itself`);
      }
      if (
        under(file, 'broker/core') &&
        isInternal(target) &&
        !under(target, 'broker/core') &&
        !under(target, 'protocol')
      ) {
        violations.push(`${edge}: broker/core imports protocol/ and its own ports only`);
      }
      if (under(file, 'broker/core') && !isInternal(target)) {
        violations.push(`${edge}: broker/core uses no package or Node module; it gets them through ports`);
      }
      if (under(file, 'broker') && !under(file, 'broker/edge') && NETWORK_MODULES.has(target)) {
        violations.push(`${edge}: only broker/edge touches sockets`);
      }
      if (under(file, 'client') && isInternal(target) && under(target, 'broker')) {
        violations.push(`${edge}: client/ never imports broker/`);
      }
      if (under(file, 'cli') && isInternal(target) && !under(target, 'cli') && !PUBLIC_ENTRIES.has(target)) {
        violations.push(`${edge}: cli/ uses the public entry points only`);
      }
      const wiring = ['broker/edge', 'broker/persistence', 'broker/cluster'];
      const owner = wiring.find((dir) => under(target, dir));
      if (owner && !under(file, owner) && file !== 'broker/create-broker.ts' && file !== 'broker/index.ts') {
        violations.push(`${edge}: only create-broker.ts wires ${owner}/ in`);
      }
    }
  }
  violations.push(...cycles(graph).map((cycle) => `import cycle: ${cycle.join(' -> ')}`));
  return violations;
}

/** Packages a program loads when it imports only `entry`, following internal imports. */
export function reachablePackages(
  graph: ImportGraph,
  entry: string,
): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const target of graph.get(file) ?? []) {
      if (isInternal(target)) visit(target);
      else packages.add(target);
    }
  };
  visit(entry);
  return { files, packages };
}

export function clientLoadsBrokerDependencies(graph: ImportGraph): string[] {
  const { files, packages } = reachablePackages(graph, 'client/index.ts');
  return [
    ...[...files].filter((f) => under(f, 'broker')).map((f) => `warden/client loads ${f}`),
    ...[...packages].filter((p) => BROKER_ONLY_PACKAGES.has(p)).map((p) => `warden/client loads ${p}`),
  ];
}

function cycles(graph: ImportGraph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      const s = state.get(target);
      if (s === 'open') found.push([...stack.slice(stack.indexOf(target)), target]);
      else if (s === undefined) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}
