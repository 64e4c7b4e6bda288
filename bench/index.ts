/**
 * The workspace index, chosen by measurement: Node's built-in SQLite (the adapter cnn-codes uses) against
 * append-only JSON-lines segments (a new segment per run, last write wins, compacted when there are many) and the
 * status quo, one JSON file rewritten whole. Each variant runs in its own process so peak RSS is its own.
 *
 *   node dist/bench/index.js [--n 1000000] [--k 1000]
 *
 * Per variant: build N stamps, open and look up all N in listing order (the re-run path), update k of them, file size.
 * Writes bench/results/index.json (index-<N>.json for an N other than 1,000,000).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SqliteStampIndex } from '../core/adapters/sqlite-stamp-index.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({
  allowPositionals: true,
  options: {
    n: { type: 'string', default: '1000000' },
    k: { type: 'string', default: '1000' },
    variant: { type: 'string' },
    dir: { type: 'string' },
  },
});
const N = Number(values.n);
const K = Number(values.k);

const keyOf = (i: number): string => `train/class_${i % 100}/image_${String(i).padStart(7, '0')}.jpg`;
// size:mtimeNs:ctimeNs:inode, as FsBlobStore writes them (ns times as decimal strings, without BigInt arithmetic).
const versionOf = (i: number, gen = 0): string =>
  `${100_000 + (i % 5000)}:1733000000${String(i + gen).padStart(9, '0')}:1733000000${String(i + gen).padStart(9, '0')}:${4_000_000 + i}`;
const hashOf = (i: number): string => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(8);

interface Variant {
  build(dir: string): void;
  /** Opens the index and looks every key up at its current version; returns how many matched. */
  lookupAll(dir: string): number;
  update(dir: string): void;
}

const sqlite: Variant = {
  build(dir) {
    const index = new SqliteStampIndex(path.join(dir, 'index.sqlite'));
    for (let i = 0; i < N; i++) index.set(keyOf(i), versionOf(i), hashOf(i));
    index.close();
  },
  lookupAll(dir) {
    const index = new SqliteStampIndex(path.join(dir, 'index.sqlite'));
    let hits = 0;
    for (let i = 0; i < N; i++) if (index.get(keyOf(i), versionOf(i, i < K ? 1 : 0)) !== undefined) hits += 1;
    index.close();
    return hits;
  },
  update(dir) {
    const index = new SqliteStampIndex(path.join(dir, 'index.sqlite'));
    for (let i = 0; i < K; i++) index.set(keyOf(i), versionOf(i, 1), hashOf(i));
    index.close();
  },
};

/** The same file read whole into a Map with one SELECT at open (memory grows with N; lookups are Map hits). */
const sqlitePreloaded: Variant = {
  ...sqlite,
  lookupAll(dir) {
    const index = new SqliteStampIndex(path.join(dir, 'index.sqlite'), { preload: true });
    let hits = 0;
    for (let i = 0; i < N; i++) if (index.get(keyOf(i), versionOf(i, i < K ? 1 : 0)) !== undefined) hits += 1;
    index.close();
    return hits;
  },
};

/** One file per run; readers replay every segment into a Map (last wins). Compaction would rewrite them all. */
const segments: Variant = {
  build(dir) {
    const lines: string[] = [];
    for (let i = 0; i < N; i++) lines.push(JSON.stringify([keyOf(i), versionOf(i), hashOf(i)]));
    writeFileSync(path.join(dir, 'seg-000000.jsonl'), `${lines.join('\n')}\n`);
  },
  lookupAll(dir) {
    const map = new Map<string, [string, string]>();
    for (const file of readdirSync(dir).sort()) {
      for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) {
        if (!line) continue;
        const [key, version, value] = JSON.parse(line) as [string, string, string];
        map.set(key, [version, value]);
      }
    }
    let hits = 0;
    for (let i = 0; i < N; i++) if (map.get(keyOf(i))?.[0] === versionOf(i, i < K ? 1 : 0)) hits += 1;
    return hits;
  },
  update(dir) {
    const lines: string[] = [];
    for (let i = 0; i < K; i++) lines.push(JSON.stringify([keyOf(i), versionOf(i, 1), hashOf(i)]));
    appendFileSync(path.join(dir, 'seg-000001.jsonl'), `${lines.join('\n')}\n`);
  },
};

/** Today's manifest.json: one document, parsed whole and rewritten whole. */
const wholeJson: Variant = {
  build(dir) {
    const entries: Record<string, [string, string]> = {};
    for (let i = 0; i < N; i++) entries[keyOf(i)] = [versionOf(i), hashOf(i)];
    writeFileSync(path.join(dir, 'index.json'), JSON.stringify(entries));
  },
  lookupAll(dir) {
    const entries = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as Record<string, [string, string]>;
    let hits = 0;
    for (let i = 0; i < N; i++) if (entries[keyOf(i)]?.[0] === versionOf(i, i < K ? 1 : 0)) hits += 1;
    return hits;
  },
  update(dir) {
    const file = path.join(dir, 'index.json');
    const entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, [string, string]>;
    for (let i = 0; i < K; i++) entries[keyOf(i)] = [versionOf(i, 1), hashOf(i)];
    writeFileSync(file, JSON.stringify(entries));
  },
};

const VARIANTS: Record<string, Variant> = {
  'sqlite, a SELECT per key': sqlite,
  'sqlite, preloaded': sqlitePreloaded,
  segments,
  'whole JSON (status quo)': wholeJson,
};

/** CPU seconds (user + system) of this process: on a shared, loaded machine wall time measures the neighbours. */
function timed(fn: () => unknown): number {
  const started = process.cpuUsage();
  fn();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1e6;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

if (values.variant) {
  // Child: one phase of one variant; prints its figures as JSON.
  const variant = VARIANTS[values.variant]!;
  const dir = values.dir!;
  const phase = process.argv.at(-1);
  let hits = 0;
  const seconds = timed(() => {
    if (phase === 'build') variant.build(dir);
    else if (phase === 'update') variant.update(dir);
    else hits = variant.lookupAll(dir);
  });
  console.log(JSON.stringify({ seconds, hits, rssMiB: process.resourceUsage().maxRSS / 1024, bytes: dirBytes(dir) }));
} else {
  const self = fileURLToPath(import.meta.url);
  const result = startResult(N === 1_000_000 ? 'index' : `index-${N}`);
  const rows: string[] = [];
  type Phase = { seconds: number; hits: number; rssMiB: number; bytes: number };
  const figures: Array<{ variant: string; build: Phase; update: Phase; lookup: Phase }> = [];
  for (const name of Object.keys(VARIANTS)) {
    const dir = mkdtempSync(path.join(tmpdir(), 'cnn-codes-bench-index-'));
    try {
      const phase = (p: string) => {
        const r = spawnSync(
          process.execPath,
          [self, '--n', String(N), '--k', String(K), '--variant', name, '--dir', dir, p],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        );
        if (r.status !== 0) throw new Error(`${name} ${p}: ${r.stderr}`);
        return JSON.parse(r.stdout) as Phase;
      };
      const build = phase('build');
      const update = phase('update');
      const lookup = phase('lookup');
      if (lookup.hits !== N) throw new Error(`${name}: ${lookup.hits} of ${N} lookups matched`);
      figures.push({ variant: name, build, update, lookup });
      rows.push(
        `| ${name} | ${build.seconds.toFixed(2)} | ${update.seconds.toFixed(3)} | ${lookup.seconds.toFixed(2)} | ${lookup.rssMiB.toFixed(0)} | ${(lookup.bytes / 2 ** 20).toFixed(0)} |`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(
    `${N} stamps, update ${K} (one process per phase, CPU seconds; peak RSS of the open + look-up-all process)`,
  );
  console.log(
    '| index | build N (CPU s) | update k (CPU s) | open + look up N (CPU s) | peak RSS (MiB) | size on disk (MiB) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  const file = result.save({ n: N, k: K, variants: figures });
  console.log(`written: ${path.relative(REPO_ROOT, file)}`);
}
