import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { cachedRows } from '../../../core/features/code-rows.js';
import { FeatureStore, type NamespaceInfo } from '../../../core/features/feature-store.js';
import { MANIFEST_KEY, type Manifest, type ManifestEntry } from '../../../core/features/manifest.js';
import { loadHead } from '../../../core/heads/serialize.js';
import { mulberry32 } from '../../../core/heads/prng.js';
import { trainHead } from '../../../core/use-cases/train-head.js';
import { withTempDir } from '../../helpers/paths.js';

const DIM = 32;
const ns: NamespaceInfo = {
  id: 'synthetic/final-0',
  model: 'synthetic',
  modelSha256: '0'.repeat(64),
  cut: 'final',
  dim: DIM,
};

/**
 * A cache as extract leaves it, with entry i in shard i mod 4, so the shards' order (their ids sort by content hash)
 * is not the entries' order; the last train entry has the same bytes as the first (an exact duplicate).
 */
async function prepare(dir: string) {
  const workspace = new FsBlobStore(dir);
  const features = new FeatureStore(workspace);
  const random = mulberry32(7);
  const entries: ManifestEntry[] = [];
  const codes: number[][] = [];
  for (const split of ['train', 'val']) {
    for (let i = 0; i < 90; i++) {
      const label = i % 3;
      const duplicate = split === 'train' && i === 87;
      const row = duplicate
        ? codes[0]!.slice()
        : Array.from({ length: DIM }, (_, j) => (j === label ? 1.2 : 0) + random() - 0.5 + (j === 3 ? 2 : 0));
      const label_ = duplicate ? 0 : label;
      entries.push({
        key: `${split}/c${label_}/${i}.jpg`,
        split,
        label: label_,
        contentHash: duplicate ? entries[0]!.contentHash : `${split}-${i}`.padEnd(64, 'x'),
        codes: {},
      });
      codes.push(row);
    }
  }
  for (let s = 0; s < 4; s++) {
    const members = entries.flatMap((_, i) => (i % 4 === s ? [i] : []));
    const shard = await features.writeShard(
      ns,
      members.map((i) => `${entries[i]!.contentHash}#${i}`),
      Float32Array.from(members.flatMap((i) => codes[i]!)),
      [],
    );
    members.forEach((i, row) => {
      entries[i]!.codes.final = { shard, row };
    });
  }
  const manifest: Manifest = {
    version: 1,
    dataset: 'synthetic',
    model: { name: 'synthetic', sha256: '0'.repeat(64) },
    classes: ['c0', 'c1', 'c2'],
    splitSynthesized: false,
    namespaces: { final: { id: ns.id, dim: DIM } },
    entries,
    rejects: [],
    ignored: [],
  };
  await workspace.put(MANIFEST_KEY, JSON.stringify(manifest));
  return { workspace, features, entries, codes };
}

test("cached rows come in shard order, in chunks of the asked size, with each entry's label and codes", () =>
  withTempDir(async (dir) => {
    const { features, entries, codes } = await prepare(dir);
    const train = entries.filter((e) => e.split === 'train');
    const labels = Int32Array.from(train, (e) => e.label);
    const { source, order } = cachedRows(
      features,
      ns,
      train.map((e) => e.codes.final!),
      labels,
      16,
    );
    assert.equal(source.n, 90);
    assert.equal(source.classes, 3);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      train.map((_, i) => i),
      'every entry once',
    );
    assert.notDeepEqual(
      Array.from(order),
      train.map((_, i) => i),
      'shard order differs from entry order here',
    );
    const sizes: number[] = [];
    for await (const chunk of source.chunks()) {
      sizes.push(chunk.rows);
      for (let r = 0; r < chunk.rows; r++) {
        const entry = order[chunk.offset + r]!;
        assert.equal(chunk.y[r], labels[entry]);
        assert.deepEqual(
          Array.from(chunk.X.subarray(r * DIM, (r + 1) * DIM)),
          Array.from(Float32Array.from(codes[entry]!)),
        );
      }
    }
    assert.deepEqual(sizes, [16, 16, 16, 16, 16, 10]);
  }));

test('codes within the resident budget are read from the cache once, and every pass sees the same rows', () =>
  withTempDir(async (dir) => {
    const { features, entries } = await prepare(dir);
    const train = entries.filter((e) => e.split === 'train');
    const labels = Int32Array.from(train, (e) => e.label);
    let reads = 0;
    const read = features.chunksInShardOrder.bind(features);
    features.chunksInShardOrder = (...args) => ((reads += 1), read(...args));
    const pass = async (source: { chunks(): AsyncIterable<{ X: Float32Array; rows: number }> }) => {
      const rows: number[] = [];
      for await (const chunk of source.chunks()) rows.push(...chunk.X.subarray(0, chunk.rows * DIM));
      return rows;
    };
    const locations = train.map((e) => e.codes.final!);
    const kept = cachedRows(features, ns, locations, labels, 16).source;
    const first = await pass(kept);
    assert.deepEqual(await pass(kept), first);
    assert.equal(reads, 1, 'the second pass read nothing');
    reads = 0;
    const streamed = cachedRows(features, ns, locations, labels, 16, 0).source;
    assert.deepEqual(await pass(streamed), first);
    assert.deepEqual(await pass(streamed), first);
    assert.equal(reads, 2, 'over the budget every pass reads the shards again');
  }));

test("the image train path streamed from the shards chooses the in-memory path's C and reaches its head", async () => {
  let valRows: number[][] = [];
  const fit = (streamedMinValues: number | undefined, request: { folds: number; C?: number } = { folds: 3 }) =>
    withTempDir(async (dir) => {
      const { workspace, features, codes } = await prepare(dir);
      valRows = codes.slice(90);
      return (
        await trainHead(
          { workspace, features, ...(streamedMinValues === undefined ? {} : { streamedMinValues }) },
          request,
        )
      ).artefact;
    });
  const inMemory = await fit(undefined);
  const streamed = await fit(0);
  assert.match(inMemory.cv!.engine!, /in memory/);
  assert.match(streamed.cv!.engine!, /streamed float32 from the code cache/);
  assert.equal(streamed.options.C, inMemory.options.C);
  // Same folds (the duplicate pair kept together by both): the same held-out accuracies for every C.
  streamed.cv!.table.forEach((row, i) =>
    assert.deepEqual(row.foldAccuracies, inMemory.cv!.table[i]!.foldAccuracies, `C=${row.C}`),
  );
  assert.deepEqual(streamed.quality!.duplicates, inMemory.quality!.duplicates);
  assert.equal(streamed.quality!.grouped, true);
  // The refit after CV starts from the folds' mean solution (as LogisticRegressionCV's), the in-memory one from zero;
  // both stop at tol 1e-4 on a flat optimum (C = 10, nearly separable), so they agree only to about 2 points of
  // probability. A fixed C is a cold fit on both paths: the same optimum (float32 rows against float64).
  const X = { rows: valRows.length, cols: DIM, data: Float64Array.from(valRows.flat()) };
  // Each path fits its own temperature on its own out-of-fold probabilities: the heads are compared without it.
  const gapOf = (a: typeof streamed, b: typeof streamed) => {
    const [p, q] = [a, b].map((h) => loadHead({ ...h.head, temperature: 1 }).predictProba(X).data);
    return Math.max(...p!.map((v, i) => Math.abs(v - q![i]!)));
  };
  assert.ok(gapOf(streamed, inMemory) < 0.05, `val probabilities after CV differ by ${gapOf(streamed, inMemory)}`);
  assert.equal(streamed.trainedOn, 90);
  // Out-of-fold probabilities at any size: the same folds and C, so nearly the same temperature and label issues.
  assert.ok(streamed.calibration && inMemory.calibration, 'both paths calibrate');
  const ratio = streamed.calibration.temperature / inMemory.calibration.temperature;
  assert.ok(
    Math.abs(Math.log(ratio)) < 0.1,
    `temperatures ${streamed.calibration.temperature} and ${inMemory.calibration.temperature}`,
  );
  assert.equal(streamed.head.temperature, streamed.calibration.temperature);
  assert.deepEqual(
    streamed.quality!.labelIssues.map((i) => i.key),
    inMemory.quality!.labelIssues.map((i) => i.key),
  );
  const [one, oneInMemory] = [await fit(0, { folds: 3, C: 10 }), await fit(undefined, { folds: 3, C: 10 })];
  assert.equal(one.cv, null);
  assert.ok(one.calibration, 'a fixed C is cross-validated for its out-of-fold probabilities too');
  assert.ok(gapOf(one, oneInMemory) < 1e-6, `val probabilities at C = 10 differ by ${gapOf(one, oneInMemory)}`);
});
