import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../helpers/paths.js';

/**
 * The architecture README.md states, checked on the source: what core may import, and who owns onnxruntime. A rule
 * here changes together with the README's "How it works" section.
 */

interface SourceFile {
  file: string;
  imports: string[];
  readsEnv: boolean;
}

function sources(dir: string): SourceFile[] {
  const root = path.join(REPO_ROOT, dir);
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => {
      const full = path.join(e.parentPath, e.name);
      const text = readFileSync(full, 'utf8');
      const imports = [
        ...text.matchAll(
          /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g,
        ),
      ].map((m) => (m[1] ?? m[2] ?? m[3])!);
      return {
        file: path.relative(REPO_ROOT, full),
        imports,
        readsEnv: /\bprocess\.env\b/.test(text.replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '')),
      };
    });
}

const core = sources('core');
const offenders = (files: SourceFile[], bad: (specifier: string) => boolean) =>
  files.flatMap((f) => f.imports.filter(bad).map((i) => `${f.file} imports ${i}`));

test('the scanner sees the imports it is meant to police', () => {
  const backbone = core.find((f) => f.file === path.join('core', 'backbone', 'onnx-runtime.ts'));
  assert.ok(backbone?.imports.includes('onnxruntime-node'), 'onnx-runtime.ts imports onnxruntime-node');
  assert.ok(core.length > 50, `found ${core.length} core files`);
});

test('core imports no AWS SDK and nothing outside core, and reads no environment', () => {
  assert.deepEqual(
    offenders(core, (s) => s.startsWith('@aws-sdk/') || s === 'aws-lambda' || s.startsWith('aws-cdk')),
    [],
  );
  const outside = core.flatMap((f) =>
    f.imports
      .filter((s) => s.startsWith('.') && !path.join(path.dirname(f.file), s).startsWith(`core${path.sep}`))
      .map((s) => `${f.file} imports ${s}`),
  );
  assert.deepEqual(outside, []);
  assert.deepEqual(
    core.filter((f) => f.readsEnv).map((f) => f.file),
    [],
  );
});

// bench/ may open onnxruntime sessions itself: a benchmark of onnxruntime (bench/gpu-check.ts profiles it) is not the product.
test('exactly one module of the product imports onnxruntime', () => {
  const all = ['core', 'cli', 'functions', 'aws', 'contracts'].flatMap(sources);
  assert.deepEqual(
    all.filter((f) => f.imports.some((s) => s.startsWith('onnxruntime-node'))).map((f) => f.file),
    [path.join('core', 'backbone', 'onnx-runtime.ts')],
  );
});

/**
 * Core's own local I/O, as the README lists it: sharp in the image pipeline and the report's thumbnails; files and
 * threads in the local adapters (the file blob store, the model files and the CPU's flags, the extraction pool). Use
 * cases see ports only.
 */
const LOCAL_IO: Record<string, RegExp> = {
  sharp: /^core\/(image\/|report\/html-thumbnails\.ts$)/,
  'node:fs':
    /^core\/(adapters\/|models\/(registry|download|prepared-graph-cache|int8-weights-choice)\.ts$|backbone\/extract-worker\.ts$)/,
  'node:fs/promises':
    /^core\/(adapters\/|models\/(registry|download|prepared-graph-cache)\.ts$|backbone\/extract-worker\.ts$)/,
  'node:worker_threads': /^core\/backbone\/(extraction-pool|extract-worker)\.ts$/,
  'node:child_process': /^$/,
  'node:net': /^$/,
  'node:http': /^$/,
  'node:https': /^core\/models\/download\.ts$/,
};

test('core does local I/O only in the modules the README names; use cases see ports', () => {
  const misplaced = core.flatMap((f) =>
    f.imports
      .filter((s) => s in LOCAL_IO && !LOCAL_IO[s]!.test(f.file.split(path.sep).join('/')))
      .map((s) => `${f.file} imports ${s}`),
  );
  assert.deepEqual(misplaced, []);
  const useCases = core.filter((f) => f.file.startsWith(path.join('core', 'use-cases')));
  assert.deepEqual(
    offenders(useCases, (s) => s in LOCAL_IO || s === 'onnxruntime-node'),
    [],
  );
});

test('core does not import from test helpers, and the test-only queue is not in core', () => {
  assert.deepEqual(
    offenders(core, (s) => s.includes('/test/')),
    [],
  );
  assert.ok(!core.some((f) => f.file.endsWith('in-process-queue.ts')));
});

/** Import circles: groups of files that reach each other through their imports (type-only ones included). */
function importCircles(files: ReadonlyArray<{ file: string; imports: string[] }>): string[][] {
  const known = new Set(files.map((f) => f.file));
  const edges = new Map(
    files.map((f) => [
      f.file,
      f.imports
        .filter((s) => s.startsWith('.'))
        .map((s) => path.join(path.dirname(f.file), s.replace(/\.js$/, '.ts')))
        .filter((target) => known.has(target)),
    ]),
  );
  // Tarjan's strongly connected components; a component of two or more files is a circle.
  let counter = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) !== order.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) circles.push(component.map((f) => f.split(path.sep).join('/')).sort());
  };
  for (const f of known) if (!order.has(f)) visit(f);
  return circles.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

test('the circle finder finds a circle of three files and nothing in a chain', () => {
  const file = (name: string, ...imports: string[]) => ({ file: path.join('core', name), imports });
  assert.deepEqual(
    importCircles([
      file('a.ts', './b.js'),
      file('b.ts', './c.js'),
      file('c.ts', './a.js', 'node:fs'),
      file('d.ts', './a.js'),
    ]),
    [['core/a.ts', 'core/b.ts', 'core/c.ts']],
  );
  assert.deepEqual(importCircles([file('a.ts', './b.js'), file('b.ts', './c.js'), file('c.ts')]), []);
});

test('no import circles in core, cli, functions, infra, aws or contracts', () => {
  const all = ['core', 'cli', 'functions', 'infra', 'aws', 'contracts'].flatMap(sources);
  assert.deepEqual(
    importCircles(all).map((c) => c.join(' <-> ')),
    [],
  );
});
