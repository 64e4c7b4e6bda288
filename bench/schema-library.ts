/**
 * Which schema library validates the messages and workspace files: Valibot against Zod and Zod Mini, each declaring
 * the same extract message (bench/schema-library/*.ts), measured where it matters for a Lambda's cold start and a
 * worker's hot loop:
 *
 * 1. Bundle size: the candidate bundled and minified by esbuild (ESM, node platform), raw and gzipped bytes.
 * 2. Cold import: a fresh `node` process imports the bundle (schema construction included); median of --rounds,
 *    the candidates alternated.
 * 3. Parse: one 500-item extract message parsed --parses times in this process after a warm-up, µs per parse;
 *    median of --rounds, alternated. Each candidate must also refuse a broken message.
 *
 * Writes bench/results/schema-library.json (commit, date, CPU, load before and after, versions, every figure).
 *
 *   node dist/bench/schema-library.js [--rounds 9] [--parses 1000]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import { REPO_ROOT } from '../test/helpers/paths.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '9' }, parses: { type: 'string', default: '1000' } },
});
const ROUNDS = Number(values.rounds);
const PARSES = Number(values.parses);
const CANDIDATES = ['valibot', 'zod', 'zod-mini'] as const;
type Candidate = (typeof CANDIDATES)[number];

const load = () => loadavg().map((l) => Number(l.toFixed(2)));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const packageVersion = (name: string): string =>
  (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

/** The message a worker parses: one shard of 500 images, each with its listing identity. */
const message = {
  v: 1,
  type: 'extract',
  runId: 'r1',
  workspace: 's3://bucket/runs/r1',
  cache: 's3://bucket/codes',
  dataset: 's3://bucket/data',
  model: 'mobilenetv2',
  cuts: ['final'],
  shard: {
    index: 3,
    count: 10,
    items: Array.from({ length: 500 }, (_, i) => ({
      key: `train/ants/${i}.jpg`,
      split: 'train',
      label: i % 2,
      source: `"abc${i}"/1234`,
    })),
  },
};
const broken = { ...message, shard: { ...message.shard, items: [{ key: 'a.jpg', split: 'train', label: -1 }] } };

async function bundle(candidate: Candidate, dir: string): Promise<{ file: string; bytes: number; gzipBytes: number }> {
  const file = path.join(dir, `${candidate}.mjs`);
  await build({
    entryPoints: [path.join(REPO_ROOT, 'bench', 'schema-library', `${candidate}.ts`)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    outfile: file,
    logLevel: 'warning',
  });
  return { file, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length };
}

/** Milliseconds a fresh process takes to import the bundle (its schemas built at import). */
function coldImportMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
}

async function main(): Promise<void> {
  const result: Record<string, unknown> = {
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim(),
    date: new Date().toISOString(),
    cpu: describeCpu(),
    loadBefore: load(),
    versions: {
      node: process.version,
      valibot: packageVersion('valibot'),
      zod: packageVersion('zod'),
      esbuild: packageVersion('esbuild'),
    },
    message: { type: 'extract', items: message.shard.items.length, jsonBytes: JSON.stringify(message).length },
    rounds: ROUNDS,
    parses: PARSES,
  };
  console.log(`\nSchema libraries on one extract message, ${describeCpu()}`);
  console.log(`load average before: ${load().join(' ')}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'schema-library-'));
  try {
    const bundles = {} as Record<Candidate, Awaited<ReturnType<typeof bundle>>>;
    const parsers = {} as Record<Candidate, (value: unknown) => boolean>;
    for (const c of CANDIDATES) {
      bundles[c] = await bundle(c, dir);
      parsers[c] = ((await import(pathToFileURL(bundles[c].file).href)) as { parse: (v: unknown) => boolean }).parse;
      if (!parsers[c](message) || parsers[c](broken))
        throw new Error(`${c}: does not tell the message from a broken one`);
      for (let i = 0; i < 200; i++) parsers[c](message);
    }
    const imports = Object.fromEntries(CANDIDATES.map((c) => [c, [] as number[]])) as Record<Candidate, number[]>;
    const parses = Object.fromEntries(CANDIDATES.map((c) => [c, [] as number[]])) as Record<Candidate, number[]>;
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CANDIDATES) {
        imports[c].push(coldImportMs(bundles[c].file));
        const parse = parsers[c];
        const t = performance.now();
        for (let i = 0; i < PARSES; i++) parse(message);
        parses[c].push(((performance.now() - t) / PARSES) * 1000);
      }
    }
    const figures = Object.fromEntries(
      CANDIDATES.map((c) => [
        c,
        {
          bundleBytes: bundles[c].bytes,
          bundleGzipBytes: bundles[c].gzipBytes,
          coldImportMs: Number(median(imports[c]).toFixed(2)),
          parseMicroseconds: Number(median(parses[c]).toFixed(1)),
        },
      ]),
    );
    result.figures = figures;
    console.log('\n| library | bundle (min) | gzip | cold import | parse, 500 items |');
    console.log('|---|---|---|---|---|');
    for (const c of CANDIDATES) {
      const f = figures[c]!;
      console.log(
        `| ${c} | ${(f.bundleBytes / 1000).toFixed(1)} kB | ${(f.bundleGzipBytes / 1000).toFixed(1)} kB | ${f.coldImportMs.toFixed(1)} ms | ${f.parseMicroseconds.toFixed(0)} µs |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  result.loadAfter = load();
  console.log(`load average after: ${(result.loadAfter as number[]).join(' ')}`);
  const file = path.join(REPO_ROOT, 'bench', 'results', 'schema-library.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written: ${path.relative(REPO_ROOT, file)}`);
}

await main();
