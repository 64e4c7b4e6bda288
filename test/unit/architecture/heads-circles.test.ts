import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../helpers/paths.js';

/** Relative imports (type-only ones too: they tie the files together for a reader) of every core source file. */
function importGraph(): Map<string, string[]> {
  const root = path.join(REPO_ROOT, 'core');
  const graph = new Map<string, string[]>();
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
    const file = path.join(e.parentPath, e.name);
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.[^'"]+)['"]/g)].map((m) =>
      path.relative(REPO_ROOT, path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts'))),
    );
    graph.set(path.relative(REPO_ROOT, file), targets);
  }
  return graph;
}

/** Strongly connected components of two or more files (Tarjan): each is an import circle. */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('the scanner finds a circle when there is one', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['a.ts', 'c.ts']],
    ['c.ts', []],
  ]);
  assert.deepEqual(circles(graph), [['a.ts', 'b.ts']]);
});

test('no import circle runs through the heads or the training use cases', () => {
  const graph = importGraph();
  assert.ok(graph.has(path.join('core', 'heads', 'matrix.ts')), 'the scanner reads core/heads');
  const training = /^core\/(heads\/|use-cases\/(fit-head|train-head|train-codes|train-streamed)\.ts$)/;
  const ours = circles(graph).filter((c) => c.some((f) => training.test(f.split(path.sep).join('/'))));
  assert.deepEqual(ours, []);
});
