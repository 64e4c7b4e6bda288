import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { FeatureStore, RANGE_BYTES, type NamespaceInfo } from '../../../core/features/feature-store.js';
import { withTempDir } from '../../helpers/paths.js';

const ns: NamespaceInfo = {
  id: 'synthetic/final-0',
  model: 'synthetic',
  modelSha256: '0'.repeat(64),
  cut: 'final',
  dim: 16,
};

/** A folder store that counts whole and ranged reads of .npy files. */
class CountingStore extends FsBlobStore {
  whole = 0;
  ranges: Array<[number, number]> = [];
  override async get(key: string): Promise<Uint8Array> {
    if (key.endsWith('.npy')) this.whole += 1;
    return super.get(key);
  }
  override async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    this.ranges.push([start, end]);
    return super.getRange(key, start, end);
  }
}

test('a shard above the range size is read as parallel ranged GETs covering it exactly; the codes are the same', () =>
  withTempDir(async (dir) => {
    const store = new CountingStore(dir);
    const features = new FeatureStore(store);
    const rows = Array.from({ length: 50 }, (_, i) => `h${i}`);
    const codes = Float32Array.from({ length: 50 * ns.dim }, (_, i) => Math.sin(i));
    const shard = await features.writeShard(ns, rows, codes, []);
    const locations = rows.map((_, row) => ({ shard, row })).reverse();
    const whole = await features.readCodes(ns, locations);
    assert.deepEqual([store.whole, store.ranges.length], [1, 0], 'below the range size: one plain GET');

    const saved = RANGE_BYTES.value;
    RANGE_BYTES.value = 1000;
    try {
      // A fresh store each time: one that has read a shard keeps it (the kept-shards test below).
      const ranged = await new FeatureStore(store).readCodes(ns, locations);
      const size = (await store.getJson<{ bytes: number }>(features.shardKey(ns, shard, 'json')))!.bytes;
      assert.deepEqual(Buffer.from(ranged.buffer), Buffer.from(whole.buffer));
      assert.equal(store.whole, 1, 'no whole-object GET once the shard is above the range size');
      assert.equal(store.ranges.length, Math.round(size / 1000), 'the nearest whole number of ranges');
      const step = Math.ceil(size / store.ranges.length);
      assert.deepEqual(
        store.ranges.map(([a]) => a),
        store.ranges.map((_, i) => i * step),
        'equal, contiguous, in order',
      );
      assert.equal(store.ranges.at(-1)![1], size, 'the last range ends at the object end');

      // Just over one range (here 1.1×): one plain GET, not a full range plus a sliver.
      RANGE_BYTES.value = Math.round(size / 1.1);
      store.ranges = [];
      await new FeatureStore(store).readCodes(ns, locations);
      assert.deepEqual([store.whole, store.ranges.length], [2, 0]);
    } finally {
      RANGE_BYTES.value = saved;
    }
  }));

test('a store reads a shard once for all its passes, and each pass gets codes of its own to change', () =>
  withTempDir(async (dir) => {
    const store = new CountingStore(dir);
    const writer = new FeatureStore(store);
    const rows = Array.from({ length: 20 }, (_, i) => `h${i}`);
    const codes = Float32Array.from({ length: 20 * ns.dim }, (_, i) => Math.cos(i));
    const shard = await writer.writeShard(ns, rows, codes, []);
    const reader = new FeatureStore(store);
    const train = rows.flatMap((_, row) => (row % 5 ? [{ shard, row }] : []));
    const val = rows.flatMap((_, row) => (row % 5 ? [] : [{ shard, row }]));
    const first = await reader.readCodes(ns, train);
    const everything = rows.map((_, row) => ({ shard, row }));
    // A caller normalizing in place must not change what the next pass reads.
    for await (const chunk of reader.chunksInShardOrder(ns, everything)) chunk.codes.fill(0);
    const second = await reader.readCodes(ns, val);
    assert.equal(store.whole, 1, 'one GET of the .npy for three passes');
    assert.deepEqual(
      first,
      Float32Array.from(train.flatMap(({ row }) => [...codes.subarray(row * ns.dim, (row + 1) * ns.dim)])),
    );
    assert.deepEqual(
      second,
      Float32Array.from(val.flatMap(({ row }) => [...codes.subarray(row * ns.dim, (row + 1) * ns.dim)])),
    );
  }));
