import assert from 'node:assert/strict';
import { readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../../core/adapters/fs-blob-store.js';
import { DamagedShardError } from '../../../core/errors.js';
import { FeatureStore, type NamespaceInfo, type ShardDamage } from '../../../core/features/feature-store.js';
import { MemoryStampIndex } from '../../../core/workspace/stamp-index.js';
import { withTempDir } from '../../helpers/paths.js';

const ns: NamespaceInfo = {
  id: 'synthetic/final-0',
  model: 'synthetic',
  modelSha256: '0'.repeat(64),
  cut: 'final',
  dim: 4,
};

/** Four shards of two rows each; returns the store and each shard's .npy path by its first row's hash. */
async function fourShards(dir: string) {
  const store = new FsBlobStore(dir);
  const features = new FeatureStore(store, 'codes', new MemoryStampIndex());
  const files: Record<string, string> = {};
  for (const s of ['a', 'b', 'c', 'd']) {
    const id = await features.writeShard(
      ns,
      [`${s}1`, `${s}2`],
      Float32Array.from({ length: 8 }, (_, i) => i + s.charCodeAt(0)),
      [],
    );
    files[s] = store.pathOf(features.shardKey(ns, id, 'npy'));
  }
  return { store, features, files };
}

test('a truncated, a deleted and a bit-flipped shard are each named, removed, and their rows left to re-extract', () =>
  withTempDir(async (dir) => {
    const { features, files } = await fourShards(dir);
    await truncate(files.a!, 50);
    await rm(files.b!);
    const bytes = await readFile(files.c!);
    bytes[bytes.length - 3]! ^= 0x10;
    await writeFile(files.c!, bytes);

    const damaged: ShardDamage[] = [];
    const index = await features.loadIndex(ns, { onDamaged: (d) => damaged.push(d) });
    assert.deepEqual([...index.codes.keys()].sort(), ['d1', 'd2'], 'only the sound shard is indexed');
    const reasons = Object.fromEntries(damaged.map((d) => [path.basename(d.key), d.reason]));
    assert.match(reasons[path.basename(files.a!)]!, /50 bytes, \d+ expected/);
    assert.match(reasons[path.basename(files.b!)]!, /missing/);
    assert.match(reasons[path.basename(files.c!)]!, /checksum/);
    assert.ok(damaged.every((d) => d.rows === 2 && d.location.startsWith('file://')));

    const again: ShardDamage[] = [];
    await features.loadIndex(ns, { onDamaged: (d) => again.push(d) });
    assert.deepEqual(again, [], 'damaged shards were removed, so the next load is clean');
  }));

test('verify without removal reports and keeps; reading a damaged shard names the file instead of misreading it', () =>
  withTempDir(async (dir) => {
    const { features, files } = await fourShards(dir);
    const bytes = await readFile(files.d!);
    bytes[bytes.length - 1]! ^= 0x01;
    await writeFile(files.d!, bytes);
    const damaged: ShardDamage[] = [];
    await features.loadIndex(ns, { verify: true, remove: false, onDamaged: (d) => damaged.push(d) });
    assert.equal(damaged.length, 1);
    const fresh = new FeatureStore(new FsBlobStore(dir), 'codes');
    const shard = path.basename(files.d!, '.npy');
    await assert.rejects(
      fresh.readCodes(ns, [{ shard, row: 0 }]),
      (err: unknown) => err instanceof DamagedShardError && err.message.includes(shard),
    );
  }));

test('a sound shard is read back to check it once; afterwards its unchanged stamp is trusted', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    const plain = new FeatureStore(store, 'codes');
    const id = await plain.writeShard(ns, ['r1'], Float32Array.of(1, 2, 3, 4), []);
    // Older than the racy window (a file younger than the clock's grain is never trusted by its stamp).
    const past = new Date(Date.now() - 60_000);
    for (const ext of ['npy', 'json'] as const) await utimes(store.pathOf(plain.shardKey(ns, id, ext)), past, past);
    let reads = 0;
    const counting = Object.assign(Object.create(store) as FsBlobStore, {
      get: async (key: string) => {
        reads += 1;
        return store.get(key);
      },
    });
    const features = new FeatureStore(counting, 'codes', new MemoryStampIndex());
    await features.loadIndex(ns);
    assert.equal(reads, 1, 'first sight: checksummed');
    await features.loadIndex(ns);
    assert.equal(reads, 1, 'unchanged since: trusted by its stamp');
    await features.loadIndex(ns, { verify: true });
    assert.equal(reads, 2, '--verify trusts no stamp');
  }));

test('rows stream in shard order as Float32 chunks that say where each row belongs; readCodes gathers the same', () =>
  withTempDir(async (dir) => {
    const { features } = await fourShards(dir);
    const index = await features.loadIndex(ns);
    const wanted = ['d2', 'a1', 'c1', 'a2', 'b2'].map((hash) => index.codes.get(hash)!);
    const gathered = await features.readCodes(ns, wanted);
    const streamed = new Float32Array(gathered.length);
    const order: string[] = [];
    for await (const chunk of features.chunksInShardOrder(ns, wanted, 1)) {
      order.push(chunk.shard);
      chunk.positions.forEach((p, i) => streamed.set(chunk.codes.subarray(i * ns.dim, (i + 1) * ns.dim), p * ns.dim));
    }
    assert.deepEqual(order, [...order].sort(), 'shard order');
    assert.equal(new Set(order).size, 4);
    assert.deepEqual(streamed, gathered);
    assert.deepEqual(
      [...gathered.subarray(0, 4)],
      [4, 5, 6, 7].map((v) => v + 'd'.charCodeAt(0)),
      'row d2 first, as asked',
    );
  }));

test('readCodesInBlocks yields the rows readCodes gathers, in list order, a block at a time', () =>
  withTempDir(async (dir) => {
    const { features } = await fourShards(dir);
    const index = await features.loadIndex(ns);
    const wanted = ['d2', 'a1', 'c1', 'a2', 'b2', 'd1', 'b1'].map((hash) => index.codes.get(hash)!);
    const gathered = await features.readCodes(ns, wanted);
    for (const blockRows of [1, 3, 7, 10]) {
      const offsets: number[] = [];
      const joined = new Float32Array(gathered.length);
      for await (const block of features.readCodesInBlocks(ns, wanted, blockRows)) {
        offsets.push(block.offset);
        assert.ok(block.codes.length <= blockRows * ns.dim);
        joined.set(block.codes, block.offset * ns.dim);
      }
      assert.deepEqual(
        offsets,
        Array.from({ length: Math.ceil(wanted.length / blockRows) }, (_, i) => i * blockRows),
      );
      assert.deepEqual(joined, gathered);
    }
    const none = features.readCodesInBlocks(ns, [], 4);
    assert.equal((await none.next()).done, true);
  }));

test('verifying more shards than are checked at once indexes every one and names the damaged one', () =>
  withTempDir(async (dir) => {
    const store = new FsBlobStore(dir);
    const features = new FeatureStore(store, 'codes', new MemoryStampIndex());
    const ids: string[] = [];
    for (let s = 0; s < 150; s++)
      ids.push(
        await features.writeShard(
          ns,
          [`h${s}`],
          Float32Array.from({ length: 4 }, (_, i) => s + i),
          [],
        ),
      );
    await truncate(store.pathOf(features.shardKey(ns, ids[77]!, 'npy')), 10);
    const damaged: ShardDamage[] = [];
    const index = await features.loadIndex(ns, { verify: true, onDamaged: (d) => damaged.push(d) });
    assert.equal(index.codes.size, 149);
    assert.deepEqual(
      damaged.map((d) => d.key),
      [features.shardKey(ns, ids[77]!, 'npy')],
    );
  }));
